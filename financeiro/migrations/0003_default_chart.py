"""The default chart of accounts: what the automatic postings use (the codes
are configurable, financeiro/accounts.py) plus equity. Edit it in the admin."""

from django.db import migrations

CHART = [
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
]


def create_chart(apps, schema_editor):
    account = apps.get_model("financeiro", "Account")
    for code, name, kind in CHART:
        account.objects.using(schema_editor.connection.alias).get_or_create(
            code=code, defaults={"name": name, "type": kind}
        )


class Migration(migrations.Migration):
    dependencies = [("financeiro", "0002_ledger_rules")]

    operations = [migrations.RunPython(create_chart, migrations.RunPython.noop)]
