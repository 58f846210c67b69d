#!/usr/bin/env bash
# Quick start: the whole system on the embedded default (SQLite, Celery eager),
# migrated, demo data loaded (users, stock, sales, books), served on
# http://127.0.0.1:8000 (ADDRESS).
#
# The first run writes .env with the quick-start settings (DEBUG on, SQLite, a
# generated SECRET_KEY), which every manage.py, celery and make command then
# reads (config/env.py); variables set in the environment win. Running it again
# keeps .env and the demo users' passwords (kept in .demo-credentials).
set -euo pipefail
cd "$(dirname "$0")/.."

address="${ADDRESS:-127.0.0.1:8000}"
port="${address##*:}"
host="${address%:*}"
[ "$host" = "$address" ] && host=127.0.0.1  # ADDRESS may be a bare port
case "$host" in
  "" | 0.0.0.0 | "[::]") probe=127.0.0.1 ;;
  \[*\]) probe="${host:1:${#host}-2}" ;;
  *) probe="$host" ;;
esac

# Before anything else: a second `make run` must not migrate or seed under the first.
if timeout 2 bash -c "exec 3<>'/dev/tcp/$probe/$port'" 2>/dev/null; then
  echo "run: $address is already in use (is \`make run\` already running?)." >&2
  echo "run: stop that server, or serve on another address: ADDRESS=127.0.0.1:8001 make run" >&2
  exit 1
fi

scripts/bootstrap.sh

if [ ! -e .env ]; then
  secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  (
    umask 077
    cat > .env <<ENV
# Written by \`make run\` on its first run: the quick start's settings, read by every
# manage.py, celery and make command (config/env.py). Variables set in the environment
# win over these. Edit freely; delete this file to get a fresh one (and a new SECRET_KEY).
DEBUG=true
SECRET_KEY=$secret
LOG_FORMAT=console
# The default. Left commented: docker compose reads this file too, and its stack must
# keep its PostgreSQL.
# DATABASE_URL=sqlite:///db.sqlite3
ENV
  )
  echo "run: wrote .env with the quick-start settings"
fi

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py seed_demo
cat <<MSG

  Index        http://$address/
  API          http://$address/api/v1/
  Swagger UI   http://$address/api/docs/
  ReDoc        http://$address/api/redoc/
  Admin        http://$address/admin/
  Health       http://$address/healthz  http://$address/readyz  http://$address/metrics

MSG
exec .venv/bin/python manage.py runserver "$address"
