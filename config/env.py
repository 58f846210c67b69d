"""The one declaration of every environment variable the system reads.

Settings read variables only through :func:`read`, so this tuple is the complete
list: the README's configuration table and ``.env.example`` are generated from it
(``python -m config.env --markdown`` / ``--dotenv``) and tests fail when they drift.
Every variable may also be given as a file path in ``<NAME>_FILE`` (Kubernetes
secrets, Vault agent), which wins over the plain variable.

Variables may also come from a local ``.env`` file (``NAME=value`` lines; the one
``make run`` writes holds the quick-start defaults, so that ``manage.py`` and
``make worker`` work on the quick start's configuration too). It is read once, at
import, into ``os.environ``; a variable the real environment sets wins over the
file. ``DOTENV_PATH`` names another file, or none when empty.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from config.domain_apps import SPLITTABLE_APPS


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


@dataclass(frozen=True)
class Var:
    name: str
    kind: str  # str | bool | int | list | rate | db_url | optional_db_url | cache_url | choice
    default: Any
    description: str
    secret: bool = False
    choices: tuple[str, ...] = ()

    def default_text(self) -> str:
        if self.default is REQUIRED:
            return "(required)"
        if callable(self.default):
            return self.default.__doc__ or "(derived)"
        return str(self.default) if self.default != "" else "(empty)"


def _debug_dependent(on_debug: str, otherwise: Any):
    def default(debug: bool) -> Any:
        return on_debug if debug else otherwise

    default.__doc__ = f"{otherwise!r} (DEBUG on: {on_debug})".replace("'", "")
    return default


VARIABLES: tuple[Var, ...] = (
    Var(
        "DOTENV_PATH",
        "str",
        ".env",
        "File of NAME=value lines read at start-up; variables set in the environment win over "
        "it. Relative paths are under the project directory. Empty: none. `make run` writes "
        "`.env` with the quick-start defaults.",
    ),
    Var("DEBUG", "bool", "false", "Django debug mode. Never on in production."),
    Var(
        "SECRET_KEY",
        "str",
        _debug_dependent("insecure-development-key-change-me", REQUIRED),
        "Django secret key, also signs JWTs. Required when DEBUG is off.",
        secret=True,
    ),
    Var(
        "ALLOWED_HOSTS",
        "list",
        "localhost,127.0.0.1,[::1]",
        "Comma-separated host names this site serves.",
    ),
    Var("CSRF_TRUSTED_ORIGINS", "list", "", "Comma-separated origins trusted for admin form posts."),
    Var(
        "DATABASE_URL",
        "db_url",
        "sqlite:///db.sqlite3",
        "Default database (e.g. postgres://user:pass@host:5432/erp). Relative SQLite paths "
        "are under the project directory.",
        secret=True,
    ),
    *(
        Var(
            f"{app.upper()}_DATABASE_URL",
            "optional_db_url",
            "",
            f"Own database for the {app} app (its tables, plus outbox and inbox). Empty: the default database.",
            secret=True,
        )
        for app in SPLITTABLE_APPS
    ),
    Var(
        "DB_CONN_MAX_AGE", "int", "60", "Seconds a database connection is kept open (0 closes each request)."
    ),
    Var(
        "DB_CONNECT_TIMEOUT",
        "int",
        "5",
        "PostgreSQL only: seconds to wait for a connection before the database counts as unreachable.",
    ),
    Var(
        "CACHE_URL",
        "cache_url",
        "locmemcache://",
        "Cache used by throttling and login lockout (e.g. redis://127.0.0.1:6379/1). Use a "
        "shared cache with more than one process.",
        secret=True,
    ),
    Var(
        "CELERY_BROKER_URL",
        "str",
        "",
        "Celery broker (redis://… or amqp://…). Empty: tasks run eagerly in the web process.",
        secret=True,
    ),
    Var(
        "CELERY_VISIBILITY_TIMEOUT",
        "int",
        "3600",
        "Redis broker only: seconds before an unacknowledged task is redelivered. Must exceed "
        "the longest task run time.",
    ),
    Var(
        "EVENTS_MAX_ATTEMPTS",
        "int",
        "8",
        "Delivery attempts of one event to one subscriber before it is dead-lettered.",
    ),
    Var("EVENTS_RETRY_BASE_SECONDS", "int", "2", "First retry delay; doubles per attempt (with jitter)."),
    Var("EVENTS_RETRY_MAX_SECONDS", "int", "300", "Longest retry delay."),
    Var(
        "EVENTS_REDELIVER_AFTER_SECONDS",
        "int",
        "300",
        "A delivery handed to the broker but still pending this long is sent again (lost message).",
    ),
    Var(
        "EVENTS_MAX_CRASHES",
        "int",
        "3",
        "Attempts of one delivery that may end with its worker process dying (killed, out of "
        "memory, segfault, past CELERY_TASK_TIME_LIMIT) before it is dead-lettered.",
    ),
    Var(
        "EVENTS_OUTAGE_WINDOW_SECONDS",
        "int",
        "3600",
        "How long a delivery whose database or broker is unreachable is retried without spending "
        "its attempts (at least 1800).",
    ),
    Var(
        "EVENTS_OUTAGE_RETRY_SECONDS",
        "int",
        "30",
        "Longest delay between retries of a delivery during an outage.",
    ),
    Var("EVENTS_SWEEP_SECONDS", "int", "5", "How often beat re-sends due, unsent or lost deliveries."),
    Var(
        "EVENTS_EMBEDDED_SWEEP",
        "bool",
        "true",
        "Without a broker (quick start): a thread of the publishing process runs the sweep every "
        "EVENTS_SWEEP_SECONDS, so failed deliveries are retried without a beat.",
    ),
    Var("EVENTS_RETENTION_DAYS", "int", "7", "Days delivered events and inbox rows are kept."),
    Var(
        "ESTOQUE_REPLENISHMENT_APPROVAL_HOURS",
        "int",
        "48",
        "Hours a manager has to answer a stock replenishment before it expires (at least 1).",
    ),
    Var(
        "ESTOQUE_REPLENISHMENT_RECEIPT_DAYS",
        "int",
        "30",
        "Days an approved replenishment waits for its goods receipt before it expires (at least 1).",
    ),
    Var(
        "VENDAS_APPROVAL_HOURS",
        "int",
        "24",
        "Hours a manager has to answer a sales order's credit approval before it escalates to an admin (at least 1).",
    ),
    Var(
        "VENDAS_RESERVATION_TIMEOUT_SECONDS",
        "int",
        "300",
        "Seconds after which a stock reservation whose confirm never finished is released by the periodic task (at least 1).",
    ),
    Var(
        "WORKER_METRICS_PORT",
        "int",
        "9808",
        "Port of a Celery worker's metrics and /healthz, /readyz probes (0: none). With "
        "PROMETHEUS_MULTIPROC_DIR set it reports every pool process.",
    ),
    Var(
        "BEAT_METRICS_PORT",
        "int",
        "9809",
        "Port of Celery beat's metrics and /healthz, /readyz probes (0: none); not the worker's, so "
        "both can run on one host. A beat embedded in a worker (-B) is served by the worker's.",
    ),
    Var("JWT_ACCESS_MINUTES", "int", "15", "Lifetime of an access token, minutes."),
    Var("JWT_REFRESH_DAYS", "int", "7", "Lifetime of a refresh token, days."),
    Var("LOGIN_FAILURE_LIMIT", "int", "5", "Failed logins for one username before it is locked out."),
    Var("LOGIN_COOLOFF_MINUTES", "int", "15", "Minutes a locked-out username must wait."),
    Var("THROTTLE_ANON_RATE", "rate", "60/minute", "Request rate allowed per anonymous client IP."),
    Var("THROTTLE_USER_RATE", "rate", "1200/minute", "Request rate allowed per authenticated user."),
    Var(
        "THROTTLE_LOGIN_RATE",
        "rate",
        "20/minute",
        "Logins (POST /api/v1/auth/token/) allowed per username, from any number of addresses.",
    ),
    Var(
        "TRUSTED_PROXY_COUNT",
        "int",
        "0",
        "Reverse proxies in front of web that append the client's address to X-Forwarded-For "
        "(the ingress controller: 1). Throttles and logs take the address the outermost one saw; "
        "0 ignores the header, which any client can write.",
    ),
    Var("IDEMPOTENCY_TTL_HOURS", "int", "24", "Hours a stored Idempotency-Key response is replayed."),
    Var("LOG_LEVEL", "choice", "INFO", "Root log level.", choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Var("LOG_FORMAT", "choice", "json", "Log line format.", choices=("json", "console")),
    Var(
        "SECURE_SSL_REDIRECT",
        "bool",
        _debug_dependent("false", "true"),
        "Redirect plain HTTP to HTTPS (ops endpoints are exempt for probes).",
    ),
    Var(
        "SECURE_HSTS_SECONDS",
        "int",
        _debug_dependent("0", "31536000"),
        "Strict-Transport-Security max-age.",
    ),
    Var(
        "USE_X_FORWARDED_PROTO",
        "bool",
        "false",
        "Trust X-Forwarded-Proto from the ingress to tell HTTPS requests.",
    ),
)

BY_NAME = {var.name: var for var in VARIABLES}

_env = environ.FileAwareEnv()


def _raw(name: str) -> str | None:
    try:
        value = _env.ENVIRON[name]
    except KeyError:
        return None
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}_FILE: cannot read the file: {exc}") from exc
    # Secret files are often written with a trailing newline.
    return value.strip() if os.environ.get(f"{name}_FILE") else value


def _cast(var: Var, value: str) -> Any:
    if var.kind == "str":
        return value
    if var.kind == "bool":
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("expected a boolean (true/false, 1/0, yes/no, on/off)")
    if var.kind == "int":
        number = int(value)
        if number < 0:
            raise ValueError("expected a non-negative integer")
        return number
    if var.kind == "list":
        return [item.strip() for item in value.split(",") if item.strip()]
    if var.kind == "rate":
        if not _RATE.match(value.strip()):
            raise ValueError("expected <count>/<second|minute|hour|day>, e.g. 60/minute")
        return value.strip()
    if var.kind == "choice":
        if value not in var.choices:
            raise ValueError(f"expected one of {', '.join(var.choices)}")
        return value
    if var.kind == "optional_db_url":
        return _cast(Var(var.name, "db_url", "", ""), value) if value else None
    if var.kind == "db_url":
        scheme = value.split("://", 1)[0]
        if scheme not in environ.Env.DB_SCHEMES:
            raise ValueError(f"unsupported database scheme {scheme!r}")
        return environ.Env.db_url_config(value)
    if var.kind == "cache_url":
        return environ.Env.cache_url_config(value)
    raise AssertionError(f"unknown kind {var.kind}")


def read(name: str, *, debug: bool = False) -> Any:
    """Return the typed value of a declared variable; fail start-up naming it."""
    var = BY_NAME.get(name)
    if var is None:
        raise ImproperlyConfigured(f"{name} is read but not declared in config/env.py")
    value = _raw(name)
    default = var.default(debug) if callable(var.default) else var.default
    if value is None or (value == "" and default is REQUIRED):
        # An empty required value (a copied .env.example's `SECRET_KEY=`) is unset.
        if default is REQUIRED:
            raise ImproperlyConfigured(f"{name} is required but not set (see README, Configuration)")
        value = default
    try:
        return _cast(var, value)
    except Exception as exc:
        shown = "<hidden>" if var.secret else repr(value)
        raise ImproperlyConfigured(f"{name} is malformed ({shown}): {exc}") from exc


def markdown_table() -> str:
    lines = [
        "| Variable | Default | Secret | Meaning |",
        "|---|---|---|---|",
    ]
    for var in VARIABLES:
        secret = "yes" if var.secret else "no"
        lines.append(f"| `{var.name}` | `{var.default_text()}` | {secret} | {var.description} |")
    return "\n".join(lines)


def dotenv_example() -> str:
    lines = [
        "# Generated by `python -m config.env --dotenv`; every variable the settings read.",
        "# Any variable can instead be read from a file named in <NAME>_FILE.",
    ]
    for var in VARIABLES:
        if var.name == "DOTENV_PATH":
            continue  # a .env file cannot name itself
        lines.append(f"# {var.description}")
        default = var.default(True) if callable(var.default) else var.default
        if default is REQUIRED:
            default = ""
        lines.append(f"{var.name}={default}" if var.name != "DEBUG" else "DEBUG=true")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--markdown"]:
        print(markdown_table())
    elif argv[1:] == ["--dotenv"]:
        sys.stdout.write(dotenv_example())
    else:
        print("usage: python -m config.env --markdown | --dotenv", file=sys.stderr)
        return 2
    return 0


_PROJECT_DIR = Path(__file__).resolve().parent.parent


def load_dotenv() -> Path | None:
    """Read the DOTENV_PATH file into ``os.environ`` without overriding what the
    environment already sets; return its path (None: no file)."""
    explicit = _raw("DOTENV_PATH")
    name = BY_NAME["DOTENV_PATH"].default if explicit is None else explicit
    if not name:
        return None
    path = Path(name) if Path(name).is_absolute() else _PROJECT_DIR / name
    if not path.is_file():
        if explicit:
            raise ImproperlyConfigured(f"DOTENV_PATH names no readable file: {path}")
        return None  # no .env: the plain environment (and the defaults) only
    environ.Env.read_env(path, overwrite=False)
    return path


DOTENV = load_dotenv()

if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
