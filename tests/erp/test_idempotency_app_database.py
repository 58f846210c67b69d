"""Idempotency-Key on a view of an app that has its own database in the split
run (workflows): the stored response lives in that app's database and commits
with the effect; on one database the same tests prove the same behaviour."""

import pytest
from django.db import connection, connections

from core.models import User
from erp.idempotency import _lock_id
from erp.models import IdempotencyRecord
from erp.routers import alias_for_app
from tests.conftest import token_for
from tests.erp.test_idempotency import concurrent_posts
from workflows.models import WorkflowRun

pytestmark = pytest.mark.urls("tests.erp.idempotency_views")

START = "/api/v1/test-idempotency/start/"
CALL_CORE = "/api/v1/test-idempotency/call-core/"
ALL = "__all__"


def app_db() -> str:
    return alias_for_app("workflows")


def runs() -> int:
    return WorkflowRun.objects.using(app_db()).filter(definition="test_idempotency_probe").count()


def records() -> int:
    return IdempotencyRecord.objects.using(app_db()).count()


@pytest.mark.django_db(databases=ALL)
class TestOnTheViewsDatabase:
    def test_replay_has_no_second_effect_and_the_record_sits_beside_the_effect(self, admin_api):
        first = admin_api.post(START, {"note": "a"}, HTTP_IDEMPOTENCY_KEY="k1")
        again = admin_api.post(START, {"note": "a"}, HTTP_IDEMPOTENCY_KEY="k1")

        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert runs() == 1
        assert records() == 1
        if app_db() != "default":  # split run: nothing stored in the default database
            assert not IdempotencyRecord.objects.using("default").exists()

    def test_same_key_another_body_is_422_and_changes_nothing(self, admin_api):
        admin_api.post(START, {"note": "a"}, HTTP_IDEMPOTENCY_KEY="k2")
        other = admin_api.post(START, {"note": "b"}, HTTP_IDEMPOTENCY_KEY="k2")
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert runs() == 1

    def test_a_4xx_leaves_no_effect_and_is_replayed(self, admin_api):
        first = admin_api.post(START, {"refuse": True}, HTTP_IDEMPOTENCY_KEY="k3")
        again = admin_api.post(START, {"refuse": True}, HTTP_IDEMPOTENCY_KEY="k3")
        assert first.status_code == again.status_code == 409
        assert again["Idempotent-Replayed"] == "true"
        assert runs() == 0  # the run the view started rolled back with the 409
        assert records() == 1


@pytest.mark.django_db(transaction=True, databases=ALL)
def test_another_apps_effect_commits_on_its_own_in_both_layouts(admin_api):
    response = admin_api.post(CALL_CORE, {"username": "outsider"}, HTTP_IDEMPOTENCY_KEY="k4")
    assert response.status_code == 400
    # core committed in its own transaction (as a remote service would have);
    # the view's app rolled back its own effect only.
    assert User.objects.filter(username="outsider").exists()
    assert runs() == 0


@pytest.mark.django_db(transaction=True, databases=ALL)
def test_in_flight_on_the_apps_database_is_409(admin_api):
    other = connections.create_connection(app_db())
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_id(str(admin_api.user.pk), "busy")])
            response = admin_api.post(START, {"note": "x"}, HTTP_IDEMPOTENCY_KEY="busy")
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert runs() == 0


@pytest.mark.django_db(transaction=True, databases=ALL)
def test_twenty_concurrent_requests_with_one_key_have_one_effect(make_user):
    responses = concurrent_posts(token_for(make_user("admin")), START, {"note": "burst"}, key="burst")
    connection.close()

    assert runs() == 1
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201 and not r.has_header("Idempotent-Replayed")]
    assert len(created) == 1
    in_flight = [r for r in responses if r.status_code == 409]
    assert all(r.json()["code"] == "idempotency_key_in_flight" for r in in_flight)
