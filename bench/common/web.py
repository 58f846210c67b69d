"""One gunicorn serving the project, for the benchmarks that go over HTTP: its
environment (production settings, throttles that never answer 429, a token that
outlives the run), the process, plain requests, a token, a benchmark user, and
a summary of its log. Imports nothing of Django at module level."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import infra
from bench.common.infra import HOST, PROJECT_DIR, PYTHON


def django_env(
    *,
    database: str,
    cache_url: str,
    jwt_access_minutes: int,
    settings_module: str = "config.settings",
    **extra,
) -> dict[str, str]:
    """``infra.django_env`` for a web server: throttles at 1,000,000/minute (they
    run but never answer 429) and an access token that outlives the run.
    gunicorn's own GUNICORN_CMD_ARGS and WEB_CONCURRENCY are dropped too, since
    gunicorn would read them itself."""
    env = infra.django_env(
        database=database,
        cache_url=cache_url,
        settings_module=settings_module,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        THROTTLE_USER_RATE="1000000/minute",
        THROTTLE_ANON_RATE="1000000/minute",
        JWT_ACCESS_MINUTES=str(jwt_access_minutes),
        **extra,
    )
    for name in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        env.pop(name, None)
    return env


def ensure_user(username: str, password: str, roles: list[str]) -> str:
    """Create the user with ``roles`` through ``core.services.user_create``, or
    reuse it (same id, this run's password, the roles added). Call after
    ``django.setup()``; returns what was done."""
    from django.contrib.auth.models import Group

    from core import services
    from core.models import User

    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        services.user_create(username=username, password=password, roles=roles)
        return f"created user {username} with roles {', '.join(roles)}"
    # The password of an earlier run is not kept anywhere: set this run's.
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    user.groups.add(*Group.objects.filter(name__in=roles))
    return f"reused user {username} (roles {', '.join(roles)} ensured, password reset)"


@dataclass
class GunicornConfig:
    workers: int = 2
    threads: int = 1
    worker_class: str = "sync"
    timeout: int = 30

    def describe(self) -> str:
        return f"gunicorn {self.worker_class} worker class, workers={self.workers}, threads={self.threads}"


class Gunicorn(infra.GroupProcess):
    """One gunicorn in its own process group; ``stop`` always ends the whole group."""

    def __init__(self, env: dict[str, str], config: GunicornConfig, log_path: Path):
        super().__init__(log_path, stop_grace=15)
        self.env = env
        self.config = config
        self.port = infra.free_port()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        args = [
            PYTHON, "-m", "gunicorn", "config.wsgi:application",
            "--chdir", str(PROJECT_DIR),
            "--bind", f"{HOST}:{self.port}",
            "--worker-class", self.config.worker_class,
            "--workers", str(self.config.workers),
            "--threads", str(self.config.threads),
            "--timeout", str(self.config.timeout),
            "--graceful-timeout", "5",
            "--log-level", "warning",
            "--error-logfile", "-",
        ]  # fmt: skip
        self.spawn(args, self.env, append_log=False)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"gunicorn exited during start-up; log:\n{self.log_tail()}")
            try:
                status, _body = request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
                last_error = f"HTTP {status}"
            except OSError as exc:
                last_error = f"{exc.__class__.__name__}: {exc}"
            time.sleep(0.2)
        raise RuntimeError(
            f"/healthz not healthy after {timeout:.0f} s ({last_error}); log:\n{self.log_tail()}"
        )


def request(
    port: int, method: str, path: str, *, body: dict | None = None, headers=None, timeout: float = 10
):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def obtain_token(port: int, username: str, password: str) -> str:
    status, body = request(
        port, "POST", "/api/v1/auth/token/", body={"username": username, "password": password}
    )
    if status != 200:
        raise RuntimeError(f"POST /api/v1/auth/token/ answered {status}: {body[:500]!r}")
    return json.loads(body)["access"]


def log_summary(log_path: Path, limit: int = 20) -> list[str]:
    """Distinct lines of a server log with their counts (a warning per worker repeats)."""
    try:
        lines = [ln.rstrip() for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return []
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
    shown = [f"  {n:>4} x {line[:300]}" for line, n in counts.items()]
    if len(shown) > limit:
        shown = [*shown[:limit], f"  ... {len(shown) - limit} more distinct lines"]
    return shown
