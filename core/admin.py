"""The Django admin: who may use it (the admin role, not is_staff), users who
cannot be deleted (deactivate them), and times shown in the company's timezone."""

import zoneinfo

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core import services
from core.models import Company, User
from erp.permissions import ADMIN, user_roles

# --- Who may use the admin -------------------------------------------------------------


def may_use_admin(user) -> bool:
    """Active users with the admin role (superusers have it); is_staff plays no part,
    so the admin follows the same roles as the API."""
    return bool(user and user.is_active and ADMIN in user_roles(user))


class AdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "Please enter the correct %(username)s and password of a user with the admin role. "
            "Note that both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user):
        AuthenticationForm.confirm_login_allowed(self, user)  # active; not the is_staff test
        if not may_use_admin(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


def _has_permission(request) -> bool:
    return may_use_admin(request.user)


# The default site, adjusted rather than replaced: replacing it would mean a custom
# AdminConfig in INSTALLED_APPS for two attributes. Every admin view (login included)
# asks has_permission.
admin.site.login_form = AdminLoginForm
admin.site.has_permission = _has_permission


# --- Times in the company's timezone ---------------------------------------------------

_TIMEZONE_CACHE_KEY = "core:admin:company-timezone"
_TIMEZONE_CACHE_SECONDS = 60


def company_timezone() -> zoneinfo.ZoneInfo | None:
    """The company's timezone, cached briefly (the admin asks on every page)."""
    name = cache.get(_TIMEZONE_CACHE_KEY)
    if name is None:
        name = services.company_get().timezone
        cache.set(_TIMEZONE_CACHE_KEY, name, _TIMEZONE_CACHE_SECONDS)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None  # a bad name must not break the admin: times stay in UTC


class CompanyTimezoneMiddleware:
    """Admin pages show (and forms read) times in the company's timezone; the API
    keeps UTC with offsets."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(reverse("admin:index")):
            return self.get_response(request)
        zone = company_timezone()
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)  # templates render inside this call
        finally:
            timezone.deactivate()


# --- Models ------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(DjangoUserAdmin, SimpleHistoryAdmin):
    list_display = ("username", "email", "is_active", "roles_display", "last_login")
    list_filter = ("is_active", "groups")

    @admin.display(description="roles")
    def roles_display(self, user):
        return ", ".join(user.roles)

    def has_delete_permission(self, request, obj=None):
        # Other apps keep user ids (documents, audit history): deactivate instead.
        return False


@admin.register(Company)
class CompanyAdmin(SimpleHistoryAdmin):
    list_display = ("name", "tax_id", "base_currency", "timezone")

    def has_add_permission(self, request):
        return not Company.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        cache.delete(_TIMEZONE_CACHE_KEY)  # the next page shows the new timezone
