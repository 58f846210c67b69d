from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from core.models import Company, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    list_display = ("username", "email", "is_active", "roles_display", "last_login")
    list_filter = ("is_active", "groups")

    @admin.display(description="roles")
    def roles_display(self, user):
        return ", ".join(user.roles)


@admin.register(Company)
class CompanyAdmin(SimpleHistoryAdmin):
    list_display = ("name", "tax_id", "base_currency", "timezone")

    def has_add_permission(self, request):
        return not Company.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
