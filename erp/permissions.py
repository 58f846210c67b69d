"""Role-based access shared by every API view.

Roles are Django group names; ``erp`` knows only the names, never an app.
Reading needs any role; writing needs ``admin`` or one of the view's
``write_roles`` (per action through ``write_roles_by_action``).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

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


def allowed_roles(view, method: str) -> frozenset[str]:
    """The roles that may call ``method`` on ``view`` (admin always may)."""
    if method in SAFE_METHODS:
        return frozenset(getattr(view, "read_roles", ROLES)) | {ADMIN}
    by_action = getattr(view, "write_roles_by_action", {})
    action = getattr(view, "action", None)
    roles = by_action.get(action, getattr(view, "write_roles", ()))
    return frozenset(roles) | {ADMIN}


class RolePermission(BasePermission):
    message = "Your role does not allow this action."

    def has_permission(self, request, view) -> bool:
        roles = user_roles(request.user)
        return bool(roles & allowed_roles(view, request.method))
