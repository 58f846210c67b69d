"""The only place estoque calls other apps, through their contracts."""

from __future__ import annotations

import time
import zoneinfo
from datetime import date, datetime

from django.utils import timezone

from core.contract import CoreService
from erp import services
from workflows.contract import WorkflowService

_TIMEZONE_TTL_SECONDS = 60.0
_timezone_cache: dict[str, object] = {}


def core() -> CoreService:
    return services.get("core")


def workflows() -> WorkflowService:
    return services.get("workflows")


def company_timezone() -> zoneinfo.ZoneInfo | None:
    """The company's timezone (business dates of stock documents), cached for a
    minute per process: stock commands are hot, the setting rarely changes."""
    cached = _timezone_cache.get("zone")
    if cached is not None and time.monotonic() - _timezone_cache["at"] < _TIMEZONE_TTL_SECONDS:
        return cached or None
    try:
        zone = zoneinfo.ZoneInfo(core().company().timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    _timezone_cache.update(zone=zone or False, at=time.monotonic())
    return zone


def business_date(moment: datetime | None = None) -> date:
    """The company-local date of ``moment`` (default: now)."""
    moment = moment or timezone.now()
    zone = company_timezone()
    return timezone.localdate(moment, timezone=zone) if zone else timezone.localdate(moment)


def forget_company_timezone() -> None:
    """For tests that change the company's timezone."""
    _timezone_cache.clear()
