# Two commands matter: `make run` (quick start) and `make test` (everything CI runs).
.PHONY: run test test-one-db lint worker beat bench-http bench-events bench-workflows bench-estoque bench-financeiro bench-order-flow env-docs

run:  ## start the system on SQLite with eager Celery and demo users
	scripts/run.sh

test:  ## the whole suite on real PostgreSQL, Redis and RabbitMQ, then its database tests again with split databases (CI runs this)
	scripts/test.sh
	scripts/test.sh --split --only-database-tests

test-one-db:  ## the suite once, on one database (quicker while developing)
	scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

# Without a broker (the quick start) tasks run inside the web process: say so
# instead of letting Celery retry a broker that was never configured.
require_broker = .venv/bin/python -c 'import sys; from config.env import read; sys.exit(0 if read("CELERY_BROKER_URL") else \
	"$@: no broker configured (CELERY_BROKER_URL is empty), so tasks run eagerly inside the web process and there is nothing for a $@ to do.\n" \
	"Set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) in the environment or in .env to run one.")'

# Beat's tasks have a queue of their own (settings.CELERY_PERIODIC_QUEUE), which a
# worker consumes besides the default one.
worker:  ## a Celery worker for both queues, deliveries and beat's tasks (needs CELERY_BROKER_URL)
	@$(require_broker)
	.venv/bin/celery -A config worker -Q celery,erp.periodic --loglevel INFO

beat:  ## the Celery beat scheduler (exactly one per deployment; needs CELERY_BROKER_URL)
	@$(require_broker)
	.venv/bin/celery -A config beat --loglevel INFO

bench-http:  ## bench/http_baseline: bare Django view vs authenticated /auth/me/
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.http_baseline

bench-events:  ## bench/event_relay: relay throughput and latency vs no-op Celery tasks
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.event_relay

bench-workflows:  ## bench/workflows: engine runs vs chains of three no-op Celery tasks
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.workflows

bench-estoque:  ## bench/estoque: reserve and ship through the service vs hand-written SQL
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.estoque

bench-financeiro:  ## bench/financeiro: posting and reports through the ledger vs hand-written SQL
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.financeiro

bench-order-flow:  ## bench/order_flow: create, confirm, ship over HTTP vs GET /auth/me/ on the same gunicorn
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.order_flow

env-docs:  ## regenerate .env.example from config/env.py
	.venv/bin/python -m config.env --dotenv > .env.example
