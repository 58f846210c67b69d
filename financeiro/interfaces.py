"""The only place financeiro calls other apps, through their contracts."""

from __future__ import annotations

from decimal import Decimal

from erp import services
from estoque.contract import StockService
from workflows.contract import WorkflowService


def estoque() -> StockService:
    return services.get("estoque")


def workflows() -> WorkflowService:
    return services.get("workflows")


def stock_value() -> Decimal:
    """estoque's running stock value: what the inventory account must equal."""
    return estoque().stock_value()
