"""Workflow runs advanced by a real Celery worker process (not eager mode)."""

import uuid

import pytest

from tests.worker import wait_until
from tests.workflows.conftest import effects
from workflows.models import WorkflowRun

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.usefixtures("effects_table", "real_worker"),
]

RUNS = "/api/v1/workflows/"


def status_of(thread_id):
    return WorkflowRun.objects.get(pk=thread_id).status


def test_start_wait_continue_complete_through_the_worker(client_as):
    starter, checker, finance = client_as("manager"), client_as("manager"), client_as("finance")
    hint = uuid.uuid4().hex
    thread_id = starter.post(
        RUNS, {"definition": "sample_review", "input": {"amount": 5000, "thread_hint": hint}}
    ).json()["thread_id"]
    wait_until(lambda: status_of(thread_id) == "waiting", 30, message="manager approval step")
    assert checker.post(f"{RUNS}{thread_id}/continue/", {"input": {"approved": True}}).status_code == 202
    wait_until(
        lambda: WorkflowRun.objects.get(pk=thread_id).current_step == "finance_booking", 30, message="finance"
    )
    assert finance.post(f"{RUNS}{thread_id}/continue/", {"input": {"account": "1.1"}}).status_code == 202
    wait_until(lambda: status_of(thread_id) == "completed", 30, message="completion")
    assert effects(hint) == ["check", "book"]


def test_worker_killed_mid_step_completes_with_the_effect_once(client_as, worker):
    client = client_as("manager")
    hint = uuid.uuid4().hex
    thread_id = client.post(
        RUNS, {"definition": "sample_review", "input": {"amount": 5, "thread_hint": hint, "slow": 4}}
    ).json()["thread_id"]
    wait_until(
        lambda: WorkflowRun.objects.get(pk=thread_id).current_step == "finance_booking", 30, message="finance"
    )
    client_as("finance").post(f"{RUNS}{thread_id}/continue/", {"input": {"account": "1.1"}})
    wait_until(lambda: WorkflowRun.objects.get(pk=thread_id).current_step == "book", 10, message="book step")
    import time

    time.sleep(1.5)  # inside the slow "book" step, its effect written but not committed
    worker.kill()
    assert status_of(thread_id) == "running"
    worker.start()
    wait_until(lambda: status_of(thread_id) == "completed", 60, message="completion after the restart")
    assert effects(hint).count("book") == 1


def test_a_deadline_passes_and_beat_moves_the_run_on(client_as):
    hint = uuid.uuid4().hex
    thread_id = (
        client_as("manager")
        .post(RUNS, {"definition": "sample_review", "input": {"amount": 5000, "thread_hint": hint}})
        .json()["thread_id"]
    )
    wait_until(lambda: status_of(thread_id) == "waiting", 30, message="manager approval step")
    WorkflowRun.objects.filter(pk=thread_id).update(deadline_at="2000-01-01T00:00:00Z")
    wait_until(
        lambda: WorkflowRun.objects.get(pk=thread_id).current_step == "finance_booking",
        30,
        message="deadline applied",
    )
    assert effects(hint) == ["check", "auto_approve"]
