#!/usr/bin/env bash
# The whole test suite, on real PostgreSQL and Redis: `make test` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh dev
scripts/ensure-services.sh

export DEBUG=false
export SECRET_KEY="${TEST_SECRET_KEY:-test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz}"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/erp}"
export CACHE_URL="${TEST_CACHE_URL:-redis://127.0.0.1:6379/1}"
export CELERY_BROKER_URL=""
export SECURE_SSL_REDIRECT=false
export LOG_LEVEL=WARNING
export LOG_FORMAT=console

exec .venv/bin/python -m pytest "$@"
