from dataclasses import dataclass

import pytest
from django.core.checks import run_checks
from django.db import transaction

from core.contract import CompanyInfo
from erp import services
from erp.events import DomainEvent, publish, subscribe, unsubscribe
from erp.models import Delivery


@pytest.fixture(autouse=True)
def _fresh_registry():
    services.reset()
    yield
    services.reset()


@pytest.mark.django_db
def test_get_returns_the_configured_implementation_of_the_contract():
    core = services.get("core")
    info = core.company()
    assert isinstance(info, CompanyInfo)
    assert len(info.base_currency) == 3


def test_the_registry_is_clean_at_start_up():
    assert [e for e in run_checks() if e.id.startswith("erp.")] == []


@pytest.mark.parametrize(
    ("backends", "error_id"),
    [
        ({}, "erp.E001"),  # core's contract declares a service but nothing implements it
        ({"core": {"BACKEND": "core.services.NoSuchClass"}}, "erp.E003"),
        ({"core": "core.services.CoreServiceImpl"}, "erp.E002"),
        (
            {"core": {"BACKEND": "core.services.CoreServiceImpl"}, "nosuchapp": {"BACKEND": "os.path"}},
            "erp.E004",
        ),
        ({"core": {"BACKEND": "erp.pagination.PageNumberPagination"}}, "erp.E005"),
    ],
)
def test_a_typo_or_a_missing_entry_fails_the_start_up_check(settings, backends, error_id):
    settings.SERVICE_BACKENDS = backends
    errors = [e for e in run_checks() if e.id.startswith("erp.")]
    assert error_id in {e.id for e in errors}, errors


def test_an_unconfigured_service_raises_a_clear_error(settings):
    settings.SERVICE_BACKENDS = {}
    with pytest.raises(services.ServiceNotConfiguredError, match="core"):
        services.get("core")


@dataclass(frozen=True, kw_only=True)
class Broken(DomainEvent):
    event_type = "tests.Broken"


@dataclass(frozen=True)
class Anything:
    """A schema that reads no field: every Broken payload fits."""


@pytest.mark.django_db(transaction=True)
def test_dead_letters_are_listed_filtered_and_replayed_in_admin(client, make_user, settings):
    settings.EVENTS_MAX_ATTEMPTS = 1
    calls = []

    @subscribe("tests.Broken", name="tests.fragile", schema=Anything)
    def fragile(event):
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("boom")

    try:
        with transaction.atomic():
            publish(Broken())
        assert Delivery.objects.get().status == Delivery.Status.DEAD

        client.force_login(make_user("admin", is_staff=True, is_superuser=True))
        dead = client.get("/admin/erp/delivery/", {"status__exact": "dead"})
        assert dead.status_code == 200
        assert [d.subscriber for d in dead.context["cl"].result_list] == ["tests.fragile"]
        delivered = client.get("/admin/erp/delivery/", {"status__exact": "delivered"})
        assert list(delivered.context["cl"].result_list) == []

        delivery = Delivery.objects.get()
        response = client.post(
            "/admin/erp/delivery/", {"action": "replay_selected", "_selected_action": [delivery.pk]}
        )
        assert response.status_code == 302
    finally:
        unsubscribe("tests.fragile")
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_web_metrics_count_published_events_and_the_backlog(api, settings):
    settings.EVENTS_MAX_ATTEMPTS = 1

    @subscribe("tests.Broken", name="tests.always_fails", schema=Anything)
    def always_fails(event):
        raise RuntimeError("down")

    try:
        with transaction.atomic():
            publish(Broken())
    finally:
        unsubscribe("tests.always_fails")
    body = api.get("/metrics").content.decode()
    assert 'erp_events_published_total{event_type="tests.Broken"}' in body
    assert 'erp_events_dead_lettered_total{event_type="tests.Broken",subscriber="tests.always_fails"}' in body
    assert 'erp_events_backlog{database="default",status="dead"} 1.0' in body


@pytest.mark.django_db
def test_scrapes_within_the_cache_window_count_the_backlog_once(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from erp.metrics import BACKLOG_CACHE_SECONDS

    assert BACKLOG_CACHE_SECONDS <= 30  # fresh enough for an alert on a stuck relay
    with CaptureQueriesContext(connection) as first:
        assert b"erp_events_backlog" in api.get("/metrics").content
    with CaptureQueriesContext(connection) as second:
        assert b'erp_events_backlog{database="default",status="pending"} 0.0' in api.get("/metrics").content
    assert len(first) > 0
    assert len(second) == 0  # the second scrape costs the database nothing
