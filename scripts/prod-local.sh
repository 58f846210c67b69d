#!/usr/bin/env bash
# The production settings on this machine, to probe what a deployment answers:
# gunicorn (WEB_CONCURRENCY workers) with DEBUG off, static files collected and
# served by whitenoise, PostgreSQL and Redis, and the headers of a
# TLS-terminating proxy trusted (X-Forwarded-Proto, one X-Forwarded-For hop).
# Serves http://127.0.0.1:8000 (PORT); send what the ingress would add:
#   curl -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-For: 203.0.113.5' http://127.0.0.1:8000/api/v1/
# A request without X-Forwarded-Proto: https is redirected to https, as in production.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh dev
scripts/ensure-services.sh

database="${PROD_LOCAL_DATABASE:-erp_prod_local}"
export DOTENV_PATH=""  # a developer's .env (make run: DEBUG on, SQLite) stays out
export DEBUG=false
export SECRET_KEY="${SECRET_KEY:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export CACHE_URL="${CACHE_URL:-redis://127.0.0.1:6379/5}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-}"  # empty: events delivered eagerly, as in the quick start
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-localhost,127.0.0.1}"
export USE_X_FORWARDED_PROTO=true
export TRUSTED_PROXY_COUNT="${TRUSTED_PROXY_COUNT:-1}"
export SECURE_SSL_REDIRECT=true
export WEB_CONCURRENCY="${WEB_CONCURRENCY:-3}"
export LOG_FORMAT="${LOG_FORMAT:-json}"

if [ -z "${DATABASE_URL:-}" ]; then  # the machine's PostgreSQL, a database of its own
  export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$database"
  export PGPASSWORD=postgres
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1 \
    || createdb -h 127.0.0.1 -U postgres "$database"
fi
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput >/dev/null
echo "prod-local: gunicorn on http://127.0.0.1:${PORT:-8000} (DEBUG off; send X-Forwarded-Proto: https)"
# One /metrics for all gunicorn workers (prometheus_client's multiprocess mode;
# config/gunicorn.py empties the directory at start).
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-${TMPDIR:-/tmp}/erp-prod-local-metrics-${PORT:-8000}}"
exec .venv/bin/gunicorn config.wsgi:application --config python:config.gunicorn \
  --bind "127.0.0.1:${PORT:-8000}" --access-logfile - \
  --worker-tmp-dir /dev/shm
