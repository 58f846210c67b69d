import pytest

from tests.worker import RedisBroker

# readyz checks every configured database (one per domain app in the split run).
pytestmark = pytest.mark.django_db(databases="__all__")

CLOSED_PORT = 1  # nothing listens on port 1


def test_healthz_needs_no_token(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency_and_an_eager_broker(api):
    # Quick start (CELERY_BROKER_URL empty): there is no broker, and readyz says so.
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "eager"}


@pytest.fixture
def broker(tmp_path):
    broker = RedisBroker(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def test_readyz_follows_a_real_broker_going_down(api, settings, broker):
    settings.CELERY_BROKER_URL = broker.url
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "broker": "ok"}

    broker.stop()
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["checks"] == {"broker": "down"}
    assert "broker" in response.json()["detail"]


def test_readyz_is_503_when_the_cache_is_down(api, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{CLOSED_PORT}/0",
        }
    }
    response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"cache": "down"}


def test_metrics_expose_http_and_database_series(api, admin_api):
    admin_api.get("/api/v1/core/company/")
    body = api.get("/metrics").content.decode()
    assert "django_http_requests_total_by_method_total" in body
    assert 'django_db_execute_total{alias="default",vendor="postgresql"}' in body


def test_docs_are_served_without_internet(api):
    for path in ("/api/docs/", "/api/redoc/"):
        page = api.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert "cdn." not in html and "unpkg" not in html  # assets come from the sidecar
    assert api.get("/api/schema/").status_code == 200


def test_probes_and_scrapes_by_pod_ip_are_answered(api, settings):
    # Kubelet and Prometheus call http://<pod ip>:8000/…: that Host is not allowed
    # for the API, yet the ops endpoints must answer it, without an HTTPS redirect.
    settings.ALLOWED_HOSTS = ["erp.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    for path in ("/healthz", "/readyz", "/metrics"):
        assert api.get(path, HTTP_HOST="10.1.2.3:8000").status_code == 200, path
    assert api.get("/api/v1/auth/me/", HTTP_HOST="10.1.2.3:8000").status_code == 400
