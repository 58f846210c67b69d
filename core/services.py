"""core's commands and queries; views, admin and commands call these."""

import datetime
import math
import re
import zoneinfo
from uuid import UUID

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from core.contract import CompanyInfo, CoreService, UserNotFoundError, UserRef
from core.models import Company, User
from core.tokens import forget_user
from erp.db import atomic, on_commit
from erp.errors import ConflictError
from erp.permissions import ADMIN, ROLES, user_roles

_CURRENCY = re.compile(r"^[A-Z]{3}$")
COMPANY_FIELDS = ("name", "tax_id", "base_currency", "timezone")
USER_FIELDS = ("username", "email", "first_name", "last_name", "is_active")


_TIMEZONE_CACHE_KEY = "core:company-timezone"
_TIMEZONE_CACHE_SECONDS = 60


def company_get() -> Company:
    company, _created = Company.objects.get_or_create(pk=Company.SINGLETON_ID)
    return company


def company_validate(values: dict) -> None:
    """ValidationError naming each company field whose value is not acceptable."""
    errors = {}
    currency = values.get("base_currency")
    if currency is not None and not _CURRENCY.match(currency):
        errors["base_currency"] = _("Use a three-letter ISO 4217 code in capitals, e.g. BRL.")
    tz = values.get("timezone")
    if tz is not None and tz not in zoneinfo.available_timezones():
        errors["timezone"] = _("Unknown time zone %(tz)s; use an IANA name such as America/Sao_Paulo.") % {
            "tz": tz
        }
    if errors:
        raise ValidationError(errors)


@atomic("core")
def company_update(**values) -> Company:
    unknown = set(values) - set(COMPANY_FIELDS)
    if unknown:
        raise ValidationError({field: _("This field cannot be changed.") for field in unknown})
    company_validate(values)
    company = Company.objects.select_for_update().get(pk=company_get().pk)
    for field, value in values.items():
        setattr(company, field, value)
    company.save()
    # Now and again at commit: a page rendered in between may have cached the old zone.
    cache.delete(_TIMEZONE_CACHE_KEY)
    on_commit("core", lambda: cache.delete(_TIMEZONE_CACHE_KEY))
    return company


def company_timezone() -> zoneinfo.ZoneInfo | None:
    """The company's timezone, cached briefly (the admin asks on every page);
    None when the stored name is not a zone, so a bad value cannot break a page."""
    name = cache.get(_TIMEZONE_CACHE_KEY)
    if name is None:
        name = company_get().timezone
        cache.set(_TIMEZONE_CACHE_KEY, name, _TIMEZONE_CACHE_SECONDS)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def login_seconds_until_unlocked(request, username: str | None) -> int | None:
    """Seconds until a locked-out username may log in again: the cool-off runs
    from its last failed login (django-axes' database handler). None without one."""
    cool_off = get_cool_off(request)
    if not cool_off:
        return None
    last_failure = AccessAttempt.objects.filter(username=username).aggregate(last=Max("attempt_time"))["last"]
    remaining = (last_failure or timezone.now()) + cool_off - timezone.now()
    return max(1, math.ceil(remaining.total_seconds()))


def _roles_to_groups(roles) -> list[Group]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValidationError({"roles": _("Unknown roles: %(roles)s.") % {"roles": ", ".join(unknown)}})
    return list(Group.objects.filter(name__in=roles))


@atomic("core")
def user_create(*, username: str, password: str, roles=(), **fields) -> User:
    user = User(username=username, **{f: v for f, v in fields.items() if f in USER_FIELDS})
    groups = _roles_to_groups(roles)
    _set_password(user, password)
    _guard_unique_username(user)
    user.full_clean(exclude=["password"])
    user.save()
    user.groups.set(groups)
    return user


def _guard_self_lockout(user: User, actor: User | None, fields: dict, roles) -> None:
    removes_own_admin = roles is not None and ADMIN not in roles
    if actor is not None and user.pk == actor.pk and (fields.get("is_active") is False or removes_own_admin):
        raise ConflictError(_("You cannot deactivate yourself or remove your own admin role."))


def _set_password(user: User, password: str) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc
    user.set_password(password)


def _guard_unique_username(user: User) -> None:
    if User.objects.filter(username__iexact=user.username).exclude(pk=user.pk).exists():
        raise ConflictError(_("A user named %(name)s already exists.") % {"name": user.username})


@atomic("core")
def user_update(*, user: User, actor: User | None, password: str | None = None, roles=None, **fields) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    _guard_self_lockout(user, actor, fields, roles)
    for field, value in fields.items():
        if field in USER_FIELDS:
            setattr(user, field, value)
    _guard_unique_username(user)
    if password is not None:
        _set_password(user, password)
    if roles is not None and ADMIN not in roles and user.is_superuser:
        # A superuser holds the admin role whatever its groups: roles without
        # admin must take the flag away, or the demotion would change nothing.
        user.is_superuser = user.is_staff = False
    user.full_clean(exclude=["password"])
    user.save()
    if roles is not None:
        user.groups.set(_roles_to_groups(roles))
    return user


def end_sessions(*, user: User) -> None:
    """Log the user out everywhere: every access and refresh token issued so far
    is refused from now on (core/tokens.py)."""
    User.objects.filter(pk=user.pk).update(session_generation=F("session_generation") + 1)
    forget_user(user.pk)  # an update() sends no post_save


def user_deactivate(*, user: User, actor: User) -> User:
    """Users are never deleted: documents and the audit trail keep their id."""
    return user_update(user=user, actor=actor, is_active=False)


class CoreServiceImpl(CoreService):
    def company(self) -> CompanyInfo:
        company = company_get()
        return CompanyInfo(
            name=company.name,
            tax_id=company.tax_id,
            base_currency=company.base_currency,
            timezone=company.timezone,
        )

    def today(self) -> datetime.date:
        zone = company_timezone()
        return timezone.localdate(timezone=zone) if zone else timezone.localdate()

    def user(self, *, user_id: UUID) -> UserRef:
        try:
            user = User.objects.get(pk=user_id)
        except User.DoesNotExist as exc:
            raise UserNotFoundError(str(user_id)) from exc
        return UserRef(id=user.pk, username=user.username, roles=user_roles(user), is_active=user.is_active)
