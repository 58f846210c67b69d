import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from erp.permissions import user_roles


class User(AbstractUser):
    """Users are referenced by this UUID from every other app."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

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
