"""Database router: each domain app's models live in the database alias named
after the app when settings define one, else in ``default``.

The kernel's tables (outbox, inbox, idempotency keys) migrate on every alias, so
an event commits in the same transaction as the change that caused it.
"""

from django.conf import settings

EVERYWHERE_APPS = frozenset({"erp"})


def splittable_apps() -> frozenset[str]:
    """The apps that may have a database of their own (settings.ERP_SPLITTABLE_APPS,
    from config/domain_apps.py); the kernel knows apps only by these names."""
    return settings.ERP_SPLITTABLE_APPS


def alias_for_app(app_label: str) -> str:
    if app_label in splittable_apps() and app_label in settings.DATABASES:
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
