# syntax=docker/dockerfile:1
#
# The ERP image: gunicorn serves the API (static files through whitenoise); the
# same image runs migrations and the Celery worker and beat (see docker-compose.yml).
# Every setting comes from the environment, as declared in config/env.py.

# ---- build: wheels for the runtime dependencies --------------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# Only the metadata: this layer (the slow one) is rebuilt when the dependencies
# change, not on every source edit. Runtime dependencies only, no `dev` extra.
COPY pyproject.toml README.md ./
# `pip wheel .` also builds the project's own wheel; it is dropped because the
# image runs the source copied below (with manage.py and non-Python files), and
# a second copy of the packages in site-packages could shadow it.
RUN pip wheel --wheel-dir /wheels . \
    && rm /wheels/erp-*.whl

# ---- runtime -------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

# The wheels are bind-mounted, so they take no layer of the final image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl

RUN groupadd --system --gid 10001 app \
    && useradd --system --no-log-init --uid 10001 --gid 10001 \
        --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app
# The apps run from this copy of the source, not from an installed wheel;
# PYTHONPATH=/app makes them importable whatever the entry point and working
# directory (celery puts the working directory on sys.path only while it imports).
COPY manage.py ./
COPY config/ config/
COPY erp/ erp/
COPY core/ core/
COPY estoque/ estoque/
COPY vendas/ vendas/
COPY financeiro/ financeiro/
COPY workflows/ workflows/

# Build-time only values (inline, not ENV): settings need SECRET_KEY with DEBUG
# off; no database is opened. The runtime container must be given its own.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:////tmp/build.sqlite3 \
    python manage.py collectstatic --noinput

# Source and static files stay owned by root: the app user can read, not change them.
USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# gunicorn reads WEB_CONCURRENCY (number of workers) from the environment itself.
# /dev/shm (tmpfs) for the worker heartbeat files, as gunicorn advises in containers;
# no control socket (gunicorn >= 25.1 puts it under $HOME, which this user lacks).
CMD ["gunicorn", "config.wsgi:application", "--config", "python:config.gunicorn", "--bind", "0.0.0.0:8000", \
     "--access-logfile", "-", "--worker-tmp-dir", "/dev/shm", "--no-control-socket"]
