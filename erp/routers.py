"""Database router: each domain app's models live in the database alias named
after the app when settings define one, else in ``default``.

The kernel's tables (outbox, inbox, idempotency keys) migrate on every alias, so
an event commits in the same transaction as the change that caused it.
"""

from django.conf import settings

# Apps that may be split onto their own database. core stays with Django's auth
# tables (its User relates to auth.Group), and so with ``default``.
SPLITTABLE_APPS = frozenset({"workflows", "estoque", "financeiro", "vendas"})
EVERYWHERE_APPS = frozenset({"erp"})


def alias_for_app(app_label: str) -> str:
    if app_label in SPLITTABLE_APPS and app_label in settings.DATABASES:
        return app_label
    return "default"


class AppDatabaseRouter:
    def db_for_read(self, model, **hints):
        if model._meta.app_label in EVERYWHERE_APPS:
            return None  # the caller chooses with .using(); default otherwise
        return alias_for_app(model._meta.app_label)

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if app_label in EVERYWHERE_APPS:
            return True
        return db == alias_for_app(app_label)
