#!/usr/bin/env bash
# Quick start: the whole system on the embedded default (SQLite, Celery eager),
# migrated, demo users created (passwords printed), served on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh

export DEBUG="${DEBUG:-true}"
export DATABASE_URL="${DATABASE_URL:-sqlite:///db.sqlite3}"
export LOG_FORMAT="${LOG_FORMAT:-console}"
address="${ADDRESS:-127.0.0.1:8000}"

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py seed_demo
cat <<MSG

  API          http://$address/api/v1/
  Swagger UI   http://$address/api/docs/
  ReDoc        http://$address/api/redoc/
  Admin        http://$address/admin/
  Health       http://$address/healthz  http://$address/readyz  http://$address/metrics

MSG
exec .venv/bin/python manage.py runserver "$address"
