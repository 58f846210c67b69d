"""The workflows REST API and engine, in one process (Celery eager: steps run at
commit). The same flows with a real worker are in test_worker.py."""

import threading
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from erp.models import OutboxEvent
from erp.routers import alias_for_app
from tests.conftest import token_for
from tests.workflows.conftest import effects
from workflows import services
from workflows.contract import AutoStep, HumanStep, WorkflowDefinition
from workflows.models import WorkflowRun

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("effects_table"),
]

RUNS = "/api/v1/workflows/"
WF_DB = alias_for_app("workflows")  # the engine publishes in its own database


def start(client, amount, **extra):
    hint = uuid.uuid4().hex
    response = client.post(
        RUNS, {"definition": "sample_review", "input": {"amount": amount, "thread_hint": hint, **extra}}
    )
    assert response.status_code == 202, response.content
    return response.json()["thread_id"], hint


def detail(client, thread_id):
    return client.get(f"{RUNS}{thread_id}/").json()


def test_definitions_are_listed_with_their_input_schema(client_as):
    body = client_as("viewer").get(f"{RUNS}definitions/", {"page_size": 500}).json()
    sample = next(d for d in body["results"] if d["name"] == "sample_review")
    assert sample["version"] == 1
    assert sample["input_schema"]["required"] == ["amount", "thread_hint"]


def test_small_amount_branches_to_auto_approval_and_waits_for_finance(client_as):
    manager = client_as("manager")
    thread_id, hint = start(manager, 10)
    run = detail(manager, thread_id)
    assert run["status"] == "waiting"
    assert run["waiting_for"]["step"] == "finance_booking"
    assert run["waiting_for"]["roles"] == ["finance"]
    assert run["state"]["approval"] == {"approved": True, "by": "policy"}
    assert effects(hint) == ["check", "auto_approve"]


def test_big_amount_needs_a_manager_other_than_the_starter_then_finance(client_as):
    starter = client_as("manager", "sales")
    thread_id, hint = start(starter, 5000)
    run = detail(starter, thread_id)
    assert (run["status"], run["waiting_for"]["step"]) == ("waiting", "manager_approval")

    answer = {"input": {"approved": True, "note": "ok"}}
    denied = starter.post(f"{RUNS}{thread_id}/continue/", answer)
    assert denied.status_code == 403
    assert "maker" in denied.json()["detail"]
    assert client_as("finance").post(f"{RUNS}{thread_id}/continue/", answer).status_code == 403  # wrong role

    checker = client_as("manager")
    accepted = checker.post(f"{RUNS}{thread_id}/continue/", answer)
    assert accepted.status_code == 202
    assert accepted.json() == {"thread_id": thread_id, "status": "waiting"}

    finance = client_as("finance")
    assert finance.post(f"{RUNS}{thread_id}/continue/", {"input": {"account": "1.1.2"}}).status_code == 202
    run = detail(finance, thread_id)
    assert run["status"] == "completed"
    assert run["waiting_for"] is None
    assert run["result"]["booked"] is True and run["result"]["approval"]["note"] == "ok"
    assert effects(hint) == ["check", "book"]

    history = finance.get(f"{RUNS}{thread_id}/history/").json()["results"]
    assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
    answered = [h for h in history if h["input"] is not None and h["step"] == "manager_approval"]
    assert answered[0]["actor"] == str(checker.user.pk)
    assert answered[0]["input"] == {"approved": True, "note": "ok"}
    assert history[0]["actor"] == str(starter.user.pk)

    published = set(OutboxEvent.objects.using(WF_DB).values_list("event_type", flat=True))
    assert {"workflows.RunWaiting", "workflows.RunCompleted"} <= published

    assert finance.post(f"{RUNS}{thread_id}/continue/", {"input": {"account": "x"}}).status_code == 409


def test_rejection_ends_the_run(client_as):
    thread_id, hint = start(client_as("manager"), 5000)
    client_as("manager").post(f"{RUNS}{thread_id}/continue/", {"input": {"approved": False}})
    assert detail(client_as("viewer"), thread_id)["status"] == "completed"
    assert effects(hint) == ["check"]


@pytest.mark.parametrize(
    "payload",
    [
        {"definition": "sample_review", "input": {"amount": -1, "thread_hint": "x"}},
        {"definition": "sample_review", "input": {"thread_hint": "x"}},
        {"definition": "sample_review", "input": "not an object"},
        {"definition": "no_such_workflow", "input": {}},
        {"input": {}},
    ],
)
def test_bad_start_is_400_and_creates_nothing(client_as, payload):
    response = client_as("manager").post(RUNS, payload)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert not WorkflowRun.objects.exists()


def test_input_not_matching_the_step_schema_is_400_and_changes_nothing(client_as):
    thread_id, _hint = start(client_as("manager"), 5000)
    checker = client_as("manager")
    before = checker.get(f"{RUNS}{thread_id}/history/").json()
    for bad in ({"approved": "yes"}, {}, {"approved": True, "extra": 1}, None):
        response = checker.post(f"{RUNS}{thread_id}/continue/", {"input": bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
    assert detail(checker, thread_id)["status"] == "waiting"
    assert checker.get(f"{RUNS}{thread_id}/history/").json() == before


def test_viewers_read_but_cannot_start_continue_or_cancel(client_as):
    viewer = client_as("viewer")
    assert viewer.post(RUNS, {"definition": "sample_review", "input": {}}).status_code == 403
    thread_id, _ = start(client_as("manager"), 5000)
    assert viewer.get(f"{RUNS}{thread_id}/").status_code == 200
    assert viewer.post(f"{RUNS}{thread_id}/cancel/").status_code == 403


def test_cancel_then_cancel_again_is_409(client_as):
    client = client_as("manager")
    thread_id, _ = start(client, 5000)
    response = client.post(f"{RUNS}{thread_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert client.post(f"{RUNS}{thread_id}/cancel/").status_code == 409
    assert (
        client_as("manager").post(f"{RUNS}{thread_id}/continue/", {"input": {"approved": True}}).status_code
        == 409
    )


def test_list_filters_by_status_and_definition(client_as):
    client = client_as("manager")
    start(client, 5000)  # stays waiting
    cancelled, _ = start(client, 5000)
    client.post(f"{RUNS}{cancelled}/cancel/")
    assert [r["thread_id"] for r in client.get(RUNS, {"status": "cancelled"}).json()["results"]] == [
        cancelled
    ]
    assert client.get(RUNS, {"definition": "sample_review"}).json()["count"] == 2
    assert client.get(RUNS, {"definition": "other"}).json()["count"] == 0


def test_unknown_run_is_404(client_as):
    client = client_as("manager")
    assert client.get(f"{RUNS}{uuid.uuid4()}/").status_code == 404
    assert client.post(f"{RUNS}{uuid.uuid4()}/continue/", {"input": {}}).status_code == 404


def test_a_failing_step_fails_the_run_and_an_admin_retries_it(client_as, client, make_user):
    thread_id, hint = start(client_as("manager"), 5, explode=True)
    run = WorkflowRun.objects.get(pk=thread_id)
    assert run.status == "failed" and "the checker exploded" in run.error
    assert OutboxEvent.objects.using(WF_DB).filter(event_type="workflows.RunFailed").exists()

    WorkflowRun.objects.filter(pk=thread_id).update(
        state={**run.state, "explode": False}
    )  # the cause is fixed
    client.force_login(make_user("admin", is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/workflows/workflowrun/", {"action": "retry_failed", "_selected_action": [thread_id]}
    )
    assert response.status_code == 302
    assert WorkflowRun.objects.get(pk=thread_id).status == "waiting"
    assert effects(hint) == ["check", "auto_approve"]  # the failed attempt rolled its effect back


def test_a_passed_deadline_moves_the_run_on(client_as):
    thread_id, _hint = start(client_as("manager"), 5000)
    WorkflowRun.objects.filter(pk=thread_id).update(deadline_at="2000-01-01T00:00:00Z")
    assert services.apply_deadlines() == 1
    run = detail(client_as("viewer"), thread_id)
    assert run["waiting_for"]["step"] == "finance_booking"
    assert run["state"]["approval"]["by"] == "policy"
    history = client_as("viewer").get(f"{RUNS}{thread_id}/history/").json()["results"]
    assert any(h["input"] == {"deadline_passed": True} and h["actor"] is None for h in history)


def test_a_run_keeps_its_version_when_a_new_one_is_deployed(client_as):
    client = client_as("manager")
    response = client.post(RUNS, {"definition": "sample_versioned", "input": {}})
    thread_id = response.json()["thread_id"]
    assert detail(client, thread_id)["version"] == 1

    class VersionedV2(WorkflowDefinition):  # "deployed" while the run waits
        name = "sample_versioned"
        version = 2
        start = "wait"
        steps = (
            HumanStep(
                "wait", prompt="Go on?", input_schema={"type": "object"}, roles=("manager",), next="finish"
            ),
            AutoStep("finish", lambda state, ctx: {"finished_by": "v2"}),
        )

    client_as("manager").post(f"{RUNS}{thread_id}/continue/", {"input": {}})
    run = detail(client, thread_id)
    assert (run["status"], run["version"], run["result"]["finished_by"]) == ("completed", 1, "v1")
    newer = client.post(RUNS, {"definition": "sample_versioned", "input": {}}).json()["thread_id"]
    assert detail(client, newer)["version"] == 2


def test_two_concurrent_continues_one_wins_the_other_gets_409(make_user):
    starter = make_user("manager")
    checkers = [make_user("manager"), make_user("manager")]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(starter)}")
    thread_id, _ = start(client, 5000)
    tokens = [token_for(user) for user in checkers]
    barrier, statuses = threading.Barrier(2), []

    def answer(token):
        other = APIClient()
        other.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        try:
            answer = {"input": {"approved": True}, "step": "manager_approval"}
            statuses.append(other.post(f"{RUNS}{thread_id}/continue/", answer, format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202, 409]
    answers = WorkflowRun.objects.get(pk=thread_id).checkpoints.filter(
        step="manager_approval", input__isnull=False
    )
    assert answers.count() == 1


def test_a_bad_start_names_the_field_and_a_stable_code(client_as):
    client = client_as("manager")
    invalid = client.post(RUNS, {"definition": "sample_review", "input": {"amount": -1, "thread_hint": "x"}})
    assert invalid.status_code == 400
    body = invalid.json()
    assert body["code"] == "invalid_input" and body["type"] == "urn:erp:problem:invalid_input"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("input.amount", "minimum")]

    unknown = client.post(RUNS, {"definition": "no_such_workflow", "input": {}}).json()
    assert unknown["code"] == "unknown_definition"
    assert [e["field"] for e in unknown["errors"]] == ["definition"]

    not_object = client.post(RUNS, {"definition": "sample_review", "input": [1, 2]}, format="json")
    assert not_object.status_code == 400
    assert [e["field"] for e in not_object.json()["errors"]] == ["input"]


def test_continue_errors_carry_stable_codes(client_as):
    thread_id, _hint = start(client_as("manager", "sales"), 5000)
    denied = client_as("finance").post(f"{RUNS}{thread_id}/continue/", {"input": {"approved": True}})
    assert (denied.status_code, denied.json()["code"]) == (403, "step_not_allowed")
    checker = client_as("manager")
    wrong = checker.post(f"{RUNS}{thread_id}/continue/", {"input": {"approved": "yes"}}).json()
    assert wrong["code"] == "invalid_input" and wrong["errors"][0]["field"] == "input.approved"
    assert checker.post(f"{RUNS}{thread_id}/continue/", {"input": "yes"}, format="json").status_code == 400
    stale = checker.post(f"{RUNS}{thread_id}/continue/", {"input": {}, "step": "finance_booking"})
    assert (stale.status_code, stale.json()["code"]) == (409, "run_not_waiting")
    missing = checker.post(f"{RUNS}{uuid.uuid4()}/cancel/")
    assert (missing.status_code, missing.json()["code"]) == (404, "run_not_found")


def start_replenishment(client):
    response = client.post(RUNS, {"definition": "sample_replenishment", "input": {"thread_hint": "x"}})
    assert response.status_code == 202, response.content
    return response.json()["thread_id"]


def test_a_signal_step_shows_its_signal_and_cannot_be_answered_through_the_api(client_as):
    client = client_as("manager")
    thread_id = start_replenishment(client)
    run = detail(client, thread_id)
    assert run["status"] == "waiting"
    assert set(run["waiting_for"]) == {"step", "signal", "input_schema"}
    assert run["waiting_for"]["signal"] == "goods_received"

    response = client.post(f"{RUNS}{thread_id}/continue/", {"input": {"quantity": 3}})
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "signal_step"
    assert detail(client, thread_id)["status"] == "waiting"

    services.WorkflowServiceImpl().signal(thread_id=thread_id, name="goods_received", payload={"quantity": 3})
    assert detail(client, thread_id)["status"] == "completed"


def test_cancel_through_the_api_records_who_and_why(client_as):
    client = client_as("manager")
    thread_id = start_replenishment(client)
    response = client.post(f"{RUNS}{thread_id}/cancel/", {"reason": "ordered elsewhere"})
    assert response.json() == {"thread_id": thread_id, "status": "cancelled"}
    event = OutboxEvent.objects.using(WF_DB).get(event_type="workflows.RunCancelled")
    assert event.payload["cancelled_by"] == str(client.user.pk)
    assert event.payload["reason"] == "ordered elsewhere"
    again = client.post(f"{RUNS}{thread_id}/cancel/")
    assert (again.status_code, again.json()["code"]) == (409, "run_finished")


def test_definitions_and_history_are_paginated_like_every_list(client_as):
    client = client_as("viewer")
    everything = client.get(f"{RUNS}definitions/", {"page_size": 100000})
    assert everything.status_code == 200  # capped, not rejected
    body = everything.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(body["results"]) >= 3
    first = client.get(f"{RUNS}definitions/", {"page_size": 1}).json()
    assert len(first["results"]) == 1 and first["next"] and first["previous"] is None
    assert first["count"] == body["count"]

    thread_id, _hint = start(client_as("manager"), 10)  # start, check, auto_approve, wait: 4 checkpoints
    page = client.get(f"{RUNS}{thread_id}/history/", {"page_size": 2}).json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 4 and [h["seq"] for h in page["results"]] == [1, 2]
    second = client.get(page["next"]).json()
    assert [h["seq"] for h in second["results"]] == [3, 4] and second["next"] is None
    assert client.get(f"{RUNS}{thread_id}/history/", {"status": "nothing"}).json()["count"] == 4
