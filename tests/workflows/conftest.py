import pytest
from django.db import connections

from erp.routers import alias_for_app
from tests.workflows.sample import EFFECTS_TABLE


@pytest.fixture
def effects_table(transactional_db):
    with connections[alias_for_app("workflows")].cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} (id serial PRIMARY KEY, thread_id text, step text)"
        )
        cursor.execute(f"TRUNCATE {EFFECTS_TABLE}")


def effects(hint: str) -> list[str]:
    with connections[alias_for_app("workflows")].cursor() as cursor:
        cursor.execute(f"SELECT step FROM {EFFECTS_TABLE} WHERE thread_id = %s ORDER BY id", [hint])  # noqa: S608
        return [row[0] for row in cursor.fetchall()]
