"""The admin role grants every model permission.

Roles are the project's only grant (erp/access.py for the API). The Django
admin, though, checks model permissions on every page: without this backend a
user holding the ``admin`` role but not ``is_superuser`` could log in (see
core/admin.py) and see an empty index. It authenticates nobody; it only
answers permission questions.
"""

from django.contrib.auth.backends import BaseBackend

from erp.permissions import has_admin_role


class AdminRoleBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return has_admin_role(user_obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return has_admin_role(user_obj)
