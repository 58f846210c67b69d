"""The default chart of accounts and which of its accounts the automatic
postings use. The data migration installs it; ``services.chart_install()``
restores whatever of it is missing (a new company, an emptied test database).
Accountants change both in the admin afterwards."""

from __future__ import annotations

# (code, name, type)
DEFAULT_CHART: tuple[tuple[str, str, str], ...] = (
    ("1000", "Cash", "asset"),
    ("1010", "Bank", "asset"),
    ("1100", "Accounts receivable", "asset"),
    ("1200", "Inventory", "asset"),
    ("2000", "Goods received not invoiced", "liability"),
    ("2100", "Taxes payable", "liability"),
    ("3000", "Equity", "equity"),
    ("3900", "Retained earnings", "equity"),
    ("4000", "Revenue", "income"),
    ("5000", "Cost of goods sold", "expense"),
    ("5100", "Inventory adjustments", "expense"),
)

# purpose -> the default chart's account code
DEFAULT_POSTING_ACCOUNTS: dict[str, str] = {
    "cash": "1000",
    "bank": "1010",
    "receivables": "1100",
    "inventory": "1200",
    "goods_received": "2000",
    "taxes_payable": "2100",
    "retained_earnings": "3900",
    "revenue": "4000",
    "cost_of_goods_sold": "5000",
    "inventory_adjustments": "5100",
}


def install(account_model, posting_account_model, using: str) -> None:
    """Create the chart's missing accounts and purposes (never changes existing ones)."""
    by_code = {}
    for code, name, kind in DEFAULT_CHART:
        by_code[code] = account_model.objects.using(using).get_or_create(
            code=code, defaults={"name": name, "type": kind}
        )[0]
    for purpose, code in DEFAULT_POSTING_ACCOUNTS.items():
        posting_account_model.objects.using(using).get_or_create(
            purpose=purpose, defaults={"account": by_code[code]}
        )
