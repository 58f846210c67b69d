import os

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from tests.core.factories import UserFactory
from tests.parallel import in_order_file_scheduling, own_cache_per_worker
from tests.worker import RabbitBroker, RabbitNode, RedisBroker, RedisServer, Worker, publishing_to
from tests.workflows import sample  # noqa: F401 - test-only workflow definitions

PASSWORD = "Correct-Horse-9"
_DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


def pytest_addoption(parser):
    parser.addoption(
        "--only-database-tests",
        action="store_true",
        help="run only the tests that use a database (the split-database pass: the rest "
        "does not depend on where the apps' tables live and ran in the first pass)",
    )


def pytest_configure(config):
    own_cache_per_worker(config)  # under pytest-xdist (tests/parallel.py)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile`` keeps the collected order on every worker (tests/parallel.py)."""
    if config.getvalue("dist") == "loadfile":
        return in_order_file_scheduling(config, log)
    return None


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--only-database-tests"):
        return
    keep, drop = [], []
    for item in items:
        uses_db = item.get_closest_marker("django_db") or _DATABASE_FIXTURES & set(item.fixturenames)
        (keep if uses_db else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(scope="session", autouse=True)
def _real_database(django_db_blocker):
    # The suite proves behaviour on PostgreSQL (locks, constraints); SQLite would
    # silently pass things production would not. `make test` sets this up.
    with django_db_blocker.unblock():
        assert connection.vendor == "postgresql", "run the tests with `make test` (PostgreSQL)"


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    # PBKDF2's million rounds cost about half a second per login or new user; the
    # tests exercise who may log in, not the hash's strength (Django's own advice).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and other cached state must not leak between tests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _close_side_connections():
    # An app's transaction opened inside another's keeps a spare connection
    # (erp/db.py); closed so the test database can be dropped at the end.
    yield
    from erp.db import close_side_connections

    close_side_connections()


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def make_user(db):
    def make(*roles, **fields):
        return UserFactory(roles=list(roles), **fields)

    return make


def token_for(user, password: str = PASSWORD) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def client_as(make_user):
    """An APIClient authenticated with a real JWT for a new user with ``roles``."""

    def make(*roles, **fields):
        user = make_user(*roles, **fields)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")
        client.user = user
        return client

    return make


@pytest.fixture
def admin_api(client_as):
    return client_as("admin")


# --- Real processes, for the tests that cross them (tests/worker.py) ---------------
# Every server here is the tests' own, on a free port: the machine's Redis and
# RabbitMQ are never stopped or flushed.


@pytest.fixture(scope="session", autouse=True)
def control_redis(tmp_path_factory):
    """The tests' own redis-server for the test subscribers' counters and
    switches (tests/erp/event_subscribers.py control()); exported as
    TEST_CONTROL_REDIS_URL, which every worker the tests start inherits."""
    server = RedisServer(tmp_path_factory.mktemp("control-redis"))
    server.start()
    previous = os.environ.get("TEST_CONTROL_REDIS_URL")
    os.environ["TEST_CONTROL_REDIS_URL"] = server.url
    yield server
    if previous is None:
        os.environ.pop("TEST_CONTROL_REDIS_URL", None)
    else:
        os.environ["TEST_CONTROL_REDIS_URL"] = previous
    server.stop()


@pytest.fixture(scope="session")
def rabbit_node(tmp_path_factory):
    """One private RabbitMQ node per session (it takes ~15 s to boot); each
    module's RabbitBroker is a vhost of its own on it."""
    node = RabbitNode(tmp_path_factory.mktemp("rabbitmq"))
    node.start()
    yield node
    node.remove()


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def relay_broker(request, tmp_path_factory):
    """A broker of this module's own, once per broker the relay supports. A
    module proving its guarantees on both defines ``broker`` as this one."""
    if request.param == "redis":
        broker = RedisBroker(tmp_path_factory.mktemp("redis-broker"))
    else:
        broker = RabbitBroker(request.getfixturevalue("rabbit_node"))
    broker.start()
    yield broker
    broker.remove()


# Module-scoped: one throw-away Redis broker and one worker per test module
# (tests/flows, workflows). A module with needs of its own
# (tests/erp/test_event_relay_worker.py: both brokers) defines its own
# ``broker`` and ``worker``.


@pytest.fixture(scope="module")
def broker(request, tmp_path_factory):
    broker = RedisBroker(tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-broker"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def worker(request, broker, tmp_path_factory, django_db_setup, django_db_blocker):
    """A worker consuming the module's broker (tasks and beat's queue), with a
    quick sweep: these tests are about workflows, not the relay's timings."""
    worker = Worker(
        broker.url,
        tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-worker") / "worker.log",
        EVENTS_SWEEP_SECONDS="1",
        EVENTS_REDELIVER_AFTER_SECONDS="3",
        WORKER_METRICS_PORT="0",
    )
    yield worker
    worker.stop()


@pytest.fixture
def real_worker(worker, broker):
    """This test publishes to the module's broker, which its worker consumes
    (started again if an earlier test killed it)."""
    if not worker.running():
        worker.start()
    with publishing_to(broker):
        yield worker
