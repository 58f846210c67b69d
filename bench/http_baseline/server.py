"""Database preparation and the one gunicorn the benchmark runs against."""

from __future__ import annotations

import http.client
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import infra
from bench.common.infra import HOST, PROJECT_DIR, PYTHON

SETTINGS_MODULE = "bench.http_baseline.settings"

DATABASE = "erp_bench"
CACHE_URL = "redis://127.0.0.1:6379/5"

USERNAME = "bench"
ROLE = "viewer"


def django_env(*, jwt_access_minutes: int) -> dict[str, str]:
    """The environment for every Django process of the run (``infra.django_env``),
    with throttles that never answer 429 and a token that outlives the run.
    gunicorn's own GUNICORN_CMD_ARGS and WEB_CONCURRENCY are dropped too, since
    gunicorn would read them itself."""
    env = infra.django_env(
        database=DATABASE,
        cache_url=CACHE_URL,
        settings_module=SETTINGS_MODULE,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        THROTTLE_USER_RATE="1000000/minute",
        THROTTLE_ANON_RATE="1000000/minute",
        JWT_ACCESS_MINUTES=str(jwt_access_minutes),
    )
    for name in ("GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        env.pop(name, None)
    return env


def ensure_user(env: dict[str, str]) -> tuple[str, str, str]:
    """Create or reuse the benchmark user; return (username, password, message)."""
    password = secrets.token_urlsafe(24)
    out = infra.run_checked(
        [PYTHON, "-m", "bench.http_baseline.ensure_user"],
        {**env, "BENCH_USERNAME": USERNAME, "BENCH_PASSWORD": password, "BENCH_ROLE": ROLE},
        "creating the benchmark user",
    )
    return USERNAME, password, out.strip()


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
