"""The only place financeiro calls other apps, through their contracts."""

from __future__ import annotations

import datetime
from decimal import Decimal

from core.contract import CoreService
from erp import services
from estoque.contract import StockService
from workflows.contract import WorkflowService


def core() -> CoreService:
    return services.get("core")


def estoque() -> StockService:
    return services.get("estoque")


def workflows() -> WorkflowService:
    return services.get("workflows")


def stock_value() -> Decimal:
    """estoque's running stock value: what the inventory account must equal."""
    return estoque().stock_value()


def today() -> datetime.date:
    """The company's business date: it decides which months have ended for month-end billing."""
    return core().today()
