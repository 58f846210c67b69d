"""The default chart of accounts and the accounts automatic postings use
(financeiro/chart.py). Edit both in the admin."""

from django.db import migrations

from financeiro import chart


def install_chart(apps, schema_editor):
    chart.install(
        apps.get_model("financeiro", "Account"),
        apps.get_model("financeiro", "PostingAccount"),
        schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [("financeiro", "0002_ledger_rules")]

    operations = [migrations.RunPython(install_chart, migrations.RunPython.noop)]
