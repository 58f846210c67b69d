"""The Django admin: who may use it (the admin role, not is_staff), users who
cannot be deleted (deactivate them), and times shown in the company's timezone."""

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core import services
from core.models import Company, User
from erp.permissions import has_admin_role

# --- Who may use the admin -------------------------------------------------------------


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
        if not has_admin_role(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


def _has_permission(request) -> bool:
    # The admin role, not is_staff: the admin follows the same roles as the API.
    return has_admin_role(request.user)


# The default site, adjusted rather than replaced: replacing it would mean a custom
# AdminConfig in INSTALLED_APPS for two attributes. Every admin view (login included)
# asks has_permission.
admin.site.login_form = AdminLoginForm
admin.site.has_permission = _has_permission


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


class CompanyForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        services.company_validate(cleaned)  # the service's rules, as form errors
        return cleaned


@admin.register(Company)
class CompanyAdmin(SimpleHistoryAdmin):
    form = CompanyForm
    list_display = ("name", "tax_id", "base_currency", "timezone")

    def has_add_permission(self, request):
        return not Company.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:  # the singleton's first row (no company yet)
            super().save_model(request, obj, form, change)
            return
        # Through the service: its validation, and the timezone the admin shows.
        services.company_update(**{name: form.cleaned_data[name] for name in form.changed_data})
