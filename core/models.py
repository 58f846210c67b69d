import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from erp.permissions import user_roles


class User(AbstractUser):
    """Users are referenced by this UUID from every other app."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session_generation = models.PositiveIntegerField(
        _("session generation"),
        default=0,
        editable=False,
        help_text=_(
            "Raised when the password changes, the account is deactivated or reactivated, or the "
            "user logs out everywhere: tokens issued before carry the old value and are refused."
        ),
    )
    history = HistoricalRecords(excluded_fields=["password", "last_login", "session_generation"])

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._stored_is_active = user.__dict__.get("is_active")
        return user

    def save(self, *args, **kwargs):
        # _password is set by set_password() until saved, and left None by a mere
        # hash upgrade at login (check_password): only a real change ends sessions.
        password_changed = self._password is not None
        stored = getattr(self, "_stored_is_active", None)
        if password_changed or (stored is not None and stored != self.is_active):
            self.session_generation += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "session_generation"}
        super().save(*args, **kwargs)
        self._stored_is_active = self.is_active

    @property
    def roles(self) -> list[str]:
        return sorted(user_roles(self))


class Company(models.Model):
    """The one company this installation keeps books for (a single row, pk=1)."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    name = models.CharField(_("name"), max_length=200, default="My Company")
    tax_id = models.CharField(_("tax id"), max_length=32, blank=True, default="")
    base_currency = models.CharField(_("base currency"), max_length=3, default="BRL")
    timezone = models.CharField(_("timezone"), max_length=64, default="America/Sao_Paulo")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("company settings")
        verbose_name_plural = _("company settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="core_company_singleton"),
            models.CheckConstraint(
                condition=models.Q(base_currency__regex=r"^[A-Z]{3}$"),
                name="core_company_currency_iso4217",
            ),
        ]

    def __str__(self) -> str:
        return self.name
