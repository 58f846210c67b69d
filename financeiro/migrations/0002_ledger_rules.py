"""The ledger's rules in the database itself (PostgreSQL), whoever writes:

* at commit, every entry that got lines balances and has at least two
  (a deferred constraint trigger, re-summing the entry's lines);
* no line goes into a period that is not open (a close waits for postings in
  flight: the check share-locks the period);
* entries and lines are immutable once written (UPDATE and DELETE raise;
  corrections are reversals);
* ``financeiro_accountdaybalance`` follows the lines: one upsert per account,
  day and shard for each INSERT statement (a transition table), so the day
  balances equal a plain GROUP BY over the lines.
"""

from django.db import migrations

CHECK_ENTRY = """
CREATE OR REPLACE FUNCTION financeiro_check_entry() RETURNS trigger AS $$
DECLARE
    lines integer;
    difference numeric;
BEGIN
    SELECT count(*), coalesce(sum(debit - credit), 0) INTO lines, difference
    FROM financeiro_journalline WHERE entry_id = NEW.entry_id;
    IF lines < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s): at least two', NEW.entry_id, lines
            USING ERRCODE = 'check_violation';
    END IF;
    IF difference <> 0 THEN
        RAISE EXCEPTION 'journal entry % does not balance: debits - credits = %', NEW.entry_id, difference
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER financeiro_entry_balances
AFTER INSERT ON financeiro_journalline
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION financeiro_check_entry();
"""

OPEN_PERIOD = """
CREATE OR REPLACE FUNCTION financeiro_line_in_open_period() RETURNS trigger AS $$
BEGIN
    -- FOR SHARE: closing the period (an UPDATE) waits for postings in flight,
    -- and postings after it see it closed.
    IF (SELECT status FROM financeiro_fiscalperiod WHERE id = NEW.period_id FOR SHARE) <> 'open' THEN
        RAISE EXCEPTION 'period % is not open: nothing posts into it', NEW.period_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER financeiro_line_in_open_period
BEFORE INSERT ON financeiro_journalline
FOR EACH ROW EXECUTE FUNCTION financeiro_line_in_open_period();
"""

IMMUTABLE = """
CREATE OR REPLACE FUNCTION financeiro_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is immutable: post a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER financeiro_journalline_immutable
BEFORE UPDATE OR DELETE ON financeiro_journalline
FOR EACH ROW EXECUTE FUNCTION financeiro_immutable();

CREATE TRIGGER financeiro_journalentry_immutable
BEFORE UPDATE OR DELETE ON financeiro_journalentry
FOR EACH ROW EXECUTE FUNCTION financeiro_immutable();
"""

DAY_BALANCES = """
CREATE OR REPLACE FUNCTION financeiro_add_day_balances() RETURNS trigger AS $$
DECLARE
    -- One shard per transaction: concurrent postings to the same account and
    -- day mostly land on different rows.
    chosen smallint := (txid_current() % 8)::smallint;
BEGIN
    INSERT INTO financeiro_accountdaybalance (account_id, day, shard, debit, credit)
    SELECT account_id, date, chosen, sum(debit), sum(credit)
    FROM new_lines WHERE posted
    GROUP BY account_id, date
    ON CONFLICT (account_id, day, shard) DO UPDATE
        SET debit = financeiro_accountdaybalance.debit + EXCLUDED.debit,
            credit = financeiro_accountdaybalance.credit + EXCLUDED.credit;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER financeiro_add_day_balances
AFTER INSERT ON financeiro_journalline
REFERENCING NEW TABLE AS new_lines
FOR EACH STATEMENT EXECUTE FUNCTION financeiro_add_day_balances();
"""

DROP = """
DROP TRIGGER IF EXISTS financeiro_add_day_balances ON financeiro_journalline;
DROP TRIGGER IF EXISTS financeiro_journalentry_immutable ON financeiro_journalentry;
DROP TRIGGER IF EXISTS financeiro_journalline_immutable ON financeiro_journalline;
DROP TRIGGER IF EXISTS financeiro_line_in_open_period ON financeiro_journalline;
DROP TRIGGER IF EXISTS financeiro_entry_balances ON financeiro_journalline;
DROP FUNCTION IF EXISTS financeiro_add_day_balances();
DROP FUNCTION IF EXISTS financeiro_immutable();
DROP FUNCTION IF EXISTS financeiro_line_in_open_period();
DROP FUNCTION IF EXISTS financeiro_check_entry();
"""
ENTRY_NUMBERS = "CREATE SEQUENCE IF NOT EXISTS financeiro_entry_number;"
DROP_ENTRY_NUMBERS = "DROP SEQUENCE IF EXISTS financeiro_entry_number;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in (CHECK_ENTRY, OPEN_PERIOD, IMMUTABLE, DAY_BALANCES, ENTRY_NUMBERS):
            schema_editor.execute(sql, None)  # no parameters: RAISE formats use %


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(DROP_ENTRY_NUMBERS)


class Migration(migrations.Migration):
    dependencies = [("financeiro", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
