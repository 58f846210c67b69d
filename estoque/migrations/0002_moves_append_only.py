"""The stock ledger is append-only in the database itself: UPDATE and DELETE of
a stock move raise, whoever runs them (TRUNCATE, used only to empty a test
database, is a statement-level operation and not refused)."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION estoque_stockmove_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'estoque_stockmove is append-only: post a correcting move instead'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER estoque_stockmove_append_only
BEFORE UPDATE OR DELETE ON estoque_stockmove
FOR EACH ROW EXECUTE FUNCTION estoque_stockmove_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS estoque_stockmove_append_only ON estoque_stockmove;
DROP FUNCTION IF EXISTS estoque_stockmove_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(TRIGGER)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("estoque", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
