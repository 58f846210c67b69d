"""Monitoring as code: the Prometheus scrape and alerting configuration, the Grafana
provisioning and dashboard, and their compose services stay valid and in step with
the metrics the app exports. These checks read files; they need no database, no
Docker engine and no Prometheus binary."""

import json
import re
from pathlib import Path

import django_prometheus
import pytest
import yaml
from django_prometheus import conf as django_prometheus_conf
from prometheus_client import Counter

from erp import metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS = PROMETHEUS_DIR / "prometheus.yml"
PROMETHEUS_K8S = PROMETHEUS_DIR / "prometheus-kubernetes.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
DATASOURCE = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER = GRAFANA_DIR / "provisioning" / "dashboards" / "erp.yml"
DASHBOARD = GRAFANA_DIR / "dashboards" / "erp.json"
COMPOSE = ROOT / "docker-compose.yml"

DATASOURCE_UID = "prometheus"
DASHBOARDS_PATH = "/var/lib/grafana/dashboards"
MONITORING = {"prometheus", "grafana"}

# django-prometheus series the dashboard and alerts may use, by the name passed to
# prometheus_client and its type; test_django_prometheus_names_exist checks each
# against the installed package, so an upgrade that renames one fails here.
DJANGO_PROMETHEUS = {
    "django_http_requests_total_by_method": "Counter",
    "django_http_requests_latency_seconds_by_view_method": "Histogram",
    "django_http_requests_latency_including_middlewares_seconds": "Histogram",
    "django_http_responses_total_by_status": "Counter",
    "django_http_responses_total_by_status_view_method": "Counter",
    "django_http_exceptions_total_by_type": "Counter",
    "django_http_exceptions_total_by_view": "Counter",
    "django_db_new_connections_total": "Counter",
    "django_db_new_connection_errors_total": "Counter",
    "django_db_execute_total": "Counter",
    "django_db_errors_total": "Counter",
    "django_db_query_duration_seconds": "Histogram",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# What the dashboard must chart (request rate, latency, errors, the event relay).
DASHBOARD_METRICS = {
    "django_http_requests_total_by_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "django_http_responses_total_by_status_total",
    "erp_events_published_total",
    "erp_events_delivered_total",
    "erp_events_failed_total",
    "erp_events_dead_lettered_total",
    "erp_events_backlog",
    "erp_events_oldest_undelivered_age_seconds",
}

# A metric name: an identifier starting with django_ or erp_ (not part of a longer
# identifier or a label value) followed by a selector, a range, a closing parenthesis,
# a comma, whitespace or the end of the expression.
_METRIC = re.compile(r"""(?<![\w:"'])((?:django|erp)_[A-Za-z0-9_:]*)(?=[{\[),\s]|$)""")


@pytest.fixture(scope="session", autouse=True)
def _real_database():
    """Replaces, for this module only, the suite's PostgreSQL guard (tests/conftest.py):
    nothing here opens a database, so these checks also run where none is set up."""


# --- helpers ----------------------------------------------------------------------


def _yaml(path: Path) -> dict:
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing"
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.relative_to(ROOT)} is not a YAML mapping"
    return data


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels(panels: list[dict]) -> list[dict]:
    """Every panel, including those nested in (collapsed) rows."""
    result = []
    for panel in panels:
        result.append(panel)
        result.extend(_panels(panel.get("panels") or []))
    return result


def _jobs(config: dict) -> dict[str, dict]:
    jobs = [job["job_name"] for job in config.get("scrape_configs") or []]
    assert len(jobs) == len(set(jobs)), f"duplicate job names: {jobs}"
    return {job["job_name"]: job for job in config["scrape_configs"]}


def _static_targets(job: dict) -> list[str]:
    return [target for group in job.get("static_configs") or [] for target in group.get("targets") or []]


def _alert_rules() -> list[dict]:
    return [rule for group in _yaml(ALERTS)["groups"] for rule in group["rules"]]


def _dashboard_expressions() -> list[str]:
    return [
        target["expr"] for panel in _panels(_dashboard()["panels"]) for target in panel.get("targets") or []
    ]


def _metric_names(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def _exported() -> set[str]:
    """Every series name the app exports: erp.metrics' counters and backlog gauges,
    and the django-prometheus series listed above."""
    names: set[str] = set()
    counters = [value for value in vars(metrics).values() if isinstance(value, Counter)]
    assert counters, "erp.metrics defines no Counter"
    names |= {f"{counter._name}_total" for counter in counters}  # prometheus_client strips _total
    names |= {family.name for family in metrics.OutboxBacklogCollector().describe()}
    for name, kind in DJANGO_PROMETHEUS.items():
        if kind == "Counter":
            names.add(name.removesuffix("_total") + "_total")
        else:
            names |= {name + suffix for suffix in HISTOGRAM_SUFFIXES}
    return names


def _compose_services() -> dict[str, dict]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _volumes(service: dict) -> dict[str, tuple[str, str]]:
    """Container path -> (host path, mode) of a service's short-syntax bind mounts."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target, *mode = volume.split(":")
        result[target] = (source, mode[0] if mode else "rw")
    return result


# --- the extractor ----------------------------------------------------------------


def test_metric_name_extraction():
    expr = (
        'sum by (event_type) (rate(erp_events_published_total{job="erp-web"}[5m])) '
        "/ histogram_quantile(0.95, sum by (le) (rate(django_http_x_bucket[$__rate_interval]))) "
        '+ max(erp_events_backlog) + erp_a + up{job=~"erp_b.*"} + 1-erp_c,erp_d'
    )
    assert _metric_names(expr) == {
        "erp_events_published_total",
        "django_http_x_bucket",
        "erp_events_backlog",
        "erp_a",
        "erp_c",
        "erp_d",
    }


# --- Prometheus ---------------------------------------------------------------------


def test_prometheus_config_loads_existing_rule_files():
    config = _yaml(PROMETHEUS)
    assert config["global"]["scrape_interval"] == "15s", config["global"]
    rule_files = config.get("rule_files") or []
    assert "alerts.yml" in rule_files, f"alerts.yml is not loaded: {rule_files}"
    for name in rule_files:
        assert (PROMETHEUS_DIR / name).is_file(), f"rule file {name} does not exist next to prometheus.yml"


def test_prometheus_scrapes_web_worker_and_beat():
    config = _yaml(PROMETHEUS)
    jobs = _jobs(config)
    expected = {"erp-web": "web:8000", "erp-worker": "worker:9808", "erp-beat": "beat:9809"}
    assert expected.keys() <= jobs.keys(), f"missing scrape jobs: {sorted(expected.keys() - jobs.keys())}"
    for name, target in expected.items():
        job = jobs[name]
        assert _static_targets(job) == [target], f"{name} should scrape {target}: {job}"
        assert job.get("metrics_path", "/metrics") == "/metrics", job
        assert job.get("scheme", "http") == "http", job
        assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s", job
    for job in jobs.values():
        assert "kubernetes_sd_configs" not in job, "Kubernetes discovery belongs in prometheus-kubernetes.yml"


def test_kubernetes_config_keeps_annotated_pods():
    config = _yaml(PROMETHEUS_K8S)
    for name in config.get("rule_files") or []:
        assert (PROMETHEUS_DIR / name).is_file(), f"rule file {name} does not exist"
    assert "alerts.yml" in (config.get("rule_files") or [])
    pod_jobs = [
        job
        for job in _jobs(config).values()
        if any(sd.get("role") == "pod" for sd in job.get("kubernetes_sd_configs") or [])
    ]
    assert pod_jobs, "no kubernetes_sd_configs job with role: pod"
    for job in pod_jobs:
        assert re.fullmatch(r"erp-.*", job["job_name"]), "ErpTargetDown matches jobs named erp-*"
        relabel = job.get("relabel_configs") or []
        annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
        keeps = [
            rule
            for rule in relabel
            if rule.get("action") == "keep" and rule.get("source_labels") == [annotation + "scrape"]
        ]
        assert keeps and keeps[0].get("regex") == "true", "keep only pods annotated prometheus.io/scrape"
        targets = {
            rule.get("target_label"): rule.get("source_labels") or []
            for rule in relabel
            if rule.get("action", "replace") == "replace"
        }
        assert annotation + "path" in targets.get("__metrics_path__", []), "prometheus.io/path not used"
        assert annotation + "port" in targets.get("__address__", []), "prometheus.io/port not used"


def test_alert_rules_cover_the_failure_modes():
    rules = {rule["alert"]: rule for rule in _alert_rules()}
    expected = {
        "ErpEventsDeadLettered": (r"increase\(erp_events_dead_lettered_total\[15m\]\)", r">\s*0\b", None),
        "ErpEventsBacklogStale": (r"erp_events_oldest_undelivered_age_seconds", r">\s*300\b", "10m"),
        "ErpHttp5xxRateHigh": (
            r"django_http_responses_total_by_status_total\{status=~\"5\.\.\"\}",
            r">\s*0\.01\b",
            "10m",
        ),
        "ErpTargetDown": (r"\bup\{", r"==\s*0\b", None),
    }
    assert expected.keys() <= rules.keys(), f"missing alerts: {sorted(expected.keys() - rules.keys())}"
    for name, (metric, threshold, duration) in expected.items():
        expr = " ".join(rules[name]["expr"].split())
        assert re.search(metric, expr), f"{name}: {expr}"
        assert re.search(threshold, expr), f"{name}: {expr}"
        if duration:
            assert rules[name].get("for") == duration, f"{name} should hold for {duration}"
    for name, rule in rules.items():
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, f"{name} has no severity"
        assert rule.get("annotations", {}).get("summary"), f"{name} has no summary"


# --- Grafana -------------------------------------------------------------------------


def test_grafana_provisioning():
    datasources = _yaml(DATASOURCE)["datasources"]
    prometheus = [source for source in datasources if source.get("name") == "Prometheus"]
    assert len(prometheus) == 1, datasources
    source = prometheus[0]
    assert source["type"] == "prometheus"
    assert source["uid"] == DATASOURCE_UID
    assert source["url"] == "http://prometheus:9090"

    providers = _yaml(DASHBOARD_PROVIDER)["providers"]
    assert any(
        provider.get("type", "file") == "file" and provider["options"]["path"] == DASHBOARDS_PATH
        for provider in providers
    ), providers


def test_dashboard_is_importable():
    dashboard = _dashboard()
    assert dashboard["uid"] == "erp-overview"
    assert dashboard["title"] == "ERP overview"
    assert dashboard["schemaVersion"] == 39
    panels = _panels(dashboard["panels"])
    ids = [panel.get("id") for panel in panels]
    assert all(isinstance(pid, int) for pid in ids), f"every panel needs an integer id: {ids}"
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    for panel in panels:
        assert {"type", "title", "gridPos"} <= panel.keys(), panel.get("title")
        if panel["type"] == "row":
            continue
        targets = panel.get("targets") or []
        assert targets, f"panel {panel['title']!r} queries nothing"
        assert (panel.get("datasource") or {}).get("uid") == DATASOURCE_UID, panel["title"]
        ref_ids = [target.get("refId") for target in targets]
        assert len(ref_ids) == len(set(ref_ids)), f"duplicate refIds in {panel['title']!r}"
        for target in targets:
            assert (target.get("datasource") or {}).get("uid") == DATASOURCE_UID, (panel["title"], target)
            assert target.get("expr", "").strip(), f"empty query in {panel['title']!r}"


def test_dashboard_charts_http_and_events():
    referenced = set().union(*(_metric_names(expr) for expr in _dashboard_expressions()))
    missing = DASHBOARD_METRICS - referenced
    assert not missing, f"the dashboard does not chart {sorted(missing)}"


# --- PromQL against the exported series ----------------------------------------------


def test_django_prometheus_names_exist():
    package = Path(django_prometheus.__file__).parent
    source = "\n".join(path.read_text() for path in package.rglob("*.py") if "tests" not in path.parts)
    for name, kind in DJANGO_PROMETHEUS.items():
        assert re.search(rf'\b{kind}\s*[(,]\s*"{name}"', source), (
            f"django_prometheus defines no {kind} {name!r}"
        )
    assert django_prometheus_conf.NAMESPACE == "", (
        "PROMETHEUS_METRIC_NAMESPACE prefixes every django_* name: update the queries"
    )


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_queries_use_only_exported_metrics(source):
    if source == "dashboard":
        expressions = _dashboard_expressions()
    else:
        expressions = [rule["expr"] for rule in _alert_rules()]
    assert expressions, f"no expressions in the {source}"
    exported = _exported()
    unknown = {name: expr for expr in expressions for name in _metric_names(expr) if name not in exported}
    assert not unknown, f"{source} queries series the app does not export: {unknown}"


# --- docker-compose ------------------------------------------------------------------


def test_monitoring_services_only_in_the_monitoring_profile():
    services = _compose_services()
    assert services.keys() >= MONITORING, f"missing services: {sorted(MONITORING - services.keys())}"
    for name, service in services.items():
        profiles = service.get("profiles") or []
        if name in MONITORING:
            assert profiles == ["monitoring"], f"{name} should run only with --profile monitoring"
        else:
            assert "monitoring" not in profiles and not profiles, f"{name} must start without a profile"
    for name in MONITORING:
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+", image), f"{name}: pin an explicit version: {image}"


def test_monitoring_services_mount_the_config():
    services = _compose_services()
    prometheus = services["prometheus"]
    assert _volumes(prometheus).get("/etc/prometheus") == ("./deploy/prometheus", "ro")
    command = prometheus.get("command") or []
    assert "--config.file=/etc/prometheus/prometheus.yml" in command, command
    assert "9090:9090" in [str(port) for port in prometheus.get("ports") or []]
    assert "/-/healthy" in " ".join(prometheus["healthcheck"]["test"])

    grafana = services["grafana"]
    mounts = _volumes(grafana)
    assert mounts.get("/etc/grafana/provisioning") == ("./deploy/grafana/provisioning", "ro"), mounts
    assert mounts.get(DASHBOARDS_PATH) == ("./deploy/grafana/dashboards", "ro"), mounts
    assert "3000:3000" in [str(port) for port in grafana.get("ports") or []]
    assert "prometheus" in (grafana.get("depends_on") or {})
    environment = grafana.get("environment") or {}
    assert environment.get("GF_AUTH_ANONYMOUS_ENABLED") == "true"
    assert environment.get("GF_AUTH_ANONYMOUS_ORG_ROLE") == "Viewer"
    assert environment.get("GF_SECURITY_ADMIN_PASSWORD") == "${GRAFANA_ADMIN_PASSWORD:-admin}"
