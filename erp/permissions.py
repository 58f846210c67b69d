"""Role-based access shared by every API view.

Roles are Django group names; ``erp`` knows only the names, never an app. Each
view declares who may call it once, as ``access = erp.access.Access(...)`` (or
``PUBLIC`` / ``AUTHENTICATED``); ``RolePermission``, the default permission class,
enforces that rule and a start-up check (erp.access) rejects views without one.
"""

from rest_framework.permissions import BasePermission

ADMIN = "admin"
ROLES = ("admin", "sales", "warehouse", "finance", "manager", "viewer")


def user_roles(user) -> frozenset[str]:
    if not user or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_erp_roles", None)
    if cached is None:
        # .all() so a prefetch_related("groups") on a list serves every row.
        cached = frozenset(group.name for group in user.groups.all())
        if user.is_superuser:
            cached |= {ADMIN}
        user._erp_roles = cached
    return cached


def has_admin_role(user) -> bool:
    """An active user holding the admin role (superusers do): may do everything,
    in the API and in the Django admin."""
    return bool(user and user.is_active and ADMIN in user_roles(user))


class RolePermission(BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request, view) -> bool:
        rule = getattr(view, "access", None)
        if rule is None:
            # Fail closed; the start-up check (erp.E101) names the view long before this.
            return has_admin_role(request.user)
        return rule.allows(request.user, request.method, getattr(view, "action", None))
