#!/usr/bin/env bash
# The test suite on real PostgreSQL, Redis and RabbitMQ. `make test` runs it
# twice: on one database, then with `--split`, every splittable domain app on a
# database of its own (the proof that the apps can be split).
set -euo pipefail
cd "$(dirname "$0")/.."

split=""
if [ "${1:-}" = "--split" ]; then split=1; shift; fi

# Each phase's time, so a slow CI run says where the time went.
phase() {
  local name=$1; shift
  local start=$SECONDS status=0
  "$@" || status=$?
  echo "test.sh: phase ${name} took $((SECONDS - start)) s"  # failed or not
  return "$status"
}
phase bootstrap scripts/bootstrap.sh dev
phase services scripts/ensure-services.sh
phase tools deploy/ensure-tools.sh

# The suite sets every variable it needs: a developer's .env (make run) stays out.
export DOTENV_PATH=""
export DEBUG=false
export SECRET_KEY="${TEST_SECRET_KEY:-test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz}"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/erp}"
# Stops the run's redis-server and waits for it to exit before removing its
# directory: a server still writing its log there made `rm -rf` fail, and with it
# a run whose tests had all passed. The cleanup never changes the run's status.
stop_own_cache() {
  local status=$? pid
  pid=$(cat "$cache_dir/redis.pid" 2>/dev/null || true)
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$cache_dir" 2>/dev/null || true
  exit "$status"
}
# The cache (throttle counts, lockouts) is a redis-server of the run's own, which
# the tests flush between tests: never the machine's Redis, nor another run's.
own_cache() {
  cache_dir=$(mktemp -d)
  cache_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$cache_port" --save "" --appendonly no --dir "$cache_dir" \
    --daemonize yes --pidfile "$cache_dir/redis.pid" --logfile "$cache_dir/redis.log"
  trap stop_own_cache EXIT
  for _ in $(seq 50); do redis-cli -p "$cache_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  export CACHE_URL="redis://127.0.0.1:$cache_port/1"
}
if [ -n "${TEST_CACHE_URL:-}" ]; then export CACHE_URL="$TEST_CACHE_URL"; else own_cache; fi
export CELERY_BROKER_URL=""
# The test process must not sweep behind the tests' backs (tests/erp/test_quickstart_relay.py
# turns it on in a quick-start process of its own).
export EVENTS_EMBEDDED_SWEEP=false
export SECURE_SSL_REDIRECT=false
export LOG_LEVEL=WARNING
export LOG_FORMAT=console
export WORKER_METRICS_PORT=0
export BEAT_METRICS_PORT=0
if [ -n "$split" ]; then
  # Named after the run's database (erp_<app> by default, <name>_<app> for a
  # TEST_DATABASE_URL of <name>): runs on different databases never share one.
  server="${DATABASE_URL%%\?*}"
  for app in $(.venv/bin/python -m config.domain_apps splittable); do
    export "${app^^}_DATABASE_URL=${server%/*}/${server##*/}_${app}"
  done
  echo "test.sh: split run, one database per domain app"
fi

# On TEST_WORKERS pytest-xdist processes (2, this machine's cores; 0: all in this
# one), each with test databases (test_erp_gw0...) and a cache database of its
# own. A file's tests stay together, in the order one process runs them
# (tests/parallel.py): its module fixtures (a broker, a Celery worker, gunicorn)
# start as often as without xdist, and no test needing the migrations' rows runs
# after a transactional test has flushed them.
phase "pytest${split:+ (split)}" .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile "$@"
