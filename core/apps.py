from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core: identity, roles, company"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from core.tokens import forget_every_user, forget_user, forget_users

        user_model = get_user_model()

        def user_changed(sender, instance, **kwargs) -> None:
            forget_user(instance.pk)

        def roles_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
            if not action.startswith("post_"):
                return
            if not reverse:  # user.groups changed
                forget_user(instance.pk)
            elif pk_set:  # group.user_set changed
                forget_users(pk_set)
            else:  # a group emptied: which users it had is gone
                forget_every_user()

        post_save.connect(user_changed, sender=user_model, weak=False, dispatch_uid="core.forget_user.save")
        post_delete.connect(
            user_changed, sender=user_model, weak=False, dispatch_uid="core.forget_user.delete"
        )
        m2m_changed.connect(
            roles_changed, sender=user_model.groups.through, weak=False, dispatch_uid="core.forget_user.roles"
        )
