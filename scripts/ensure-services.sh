#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1: start them when installed
# but stopped, install them from Debian packages when missing (chromium too, for the
# browser tests). Idempotent.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() {  # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "ensure-services: $what did not come up" >&2; return 1
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

ensure_postgres() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "ensure-services: installing PostgreSQL"; apt_install postgresql postgresql-client
  fi
  if ! postgres_up; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [ -z "$(ls /etc/postgresql/"$version" 2>/dev/null)" ]; then
      as_root pg_createcluster "$version" main
    fi
    echo "ensure-services: starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for PostgreSQL postgres_up
  fi
  # Trust auth here; a fresh Debian install wants a password over TCP instead.
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    as_root su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
  fi
  ensure_postgres_connections
}

# The concurrency tests hold a connection per thread on each database they touch
# (30 confirms at once on vendas' and estoque's databases in the split run), while
# the suite's other process runs Celery workers with connections of their own:
# PostgreSQL's default of 100 is too few. Raised once, with a restart, and said so.
POSTGRES_CONNECTIONS=300
ensure_postgres_connections() {
  local current version
  current=$(PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'show max_connections')
  if [ "$current" -lt "$POSTGRES_CONNECTIONS" ]; then
    echo "ensure-services: raising PostgreSQL's max_connections from $current to $POSTGRES_CONNECTIONS (the concurrency tests need them); restarting it"
    PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -qc "ALTER SYSTEM SET max_connections = $POSTGRES_CONNECTIONS"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main restart
    wait_for PostgreSQL postgres_up
  fi
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "ensure-services: installing Redis"; apt_install redis-server redis-tools
  fi
  if ! redis_up; then
    echo "ensure-services: starting Redis"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for Redis redis_up
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rabbit_up() { port_open 5672; }

ensure_rabbitmq() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "ensure-services: installing RabbitMQ"; apt_install rabbitmq-server
  fi
  if ! rabbit_up; then
    echo "ensure-services: starting RabbitMQ"
    # The node may be up with its app stopped (a test stopped it); else start the node.
    as_root rabbitmqctl -q start_app >/dev/null 2>&1 || as_root rabbitmq-server -detached
    wait_for RabbitMQ rabbit_up
    as_root rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  fi
}

# Not a service: the browser tests/system/test_browser_offline.py loads the
# admin and the API docs in.
ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "ensure-services: installing chromium (headless browser for the tests)"; apt_install chromium
  fi
}

ensure_postgres
ensure_redis
ensure_rabbitmq
ensure_chromium
