# Two commands matter: `make run` (quick start) and `make test` (everything CI runs).
.PHONY: run test test-one-db lint worker beat bench-http bench-events bench-workflows env-docs

run:  ## start the system on SQLite with eager Celery and demo users
	scripts/run.sh

test:  ## the whole suite on real PostgreSQL, Redis and RabbitMQ, then again with split databases (CI runs this)
	scripts/test.sh
	scripts/test.sh --split

test-one-db:  ## the suite once, on one database (quicker while developing)
	scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports

worker:  ## a Celery worker (needs CELERY_BROKER_URL)
	.venv/bin/celery -A config worker --loglevel INFO

beat:  ## the Celery beat scheduler (exactly one per deployment)
	.venv/bin/celery -A config beat --loglevel INFO

bench-http:  ## bench/http_baseline: bare Django view vs authenticated /auth/me/
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.http_baseline

bench-events:  ## bench/event_relay: relay throughput and latency vs no-op Celery tasks
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.event_relay

bench-workflows:  ## bench/workflows: engine runs vs chains of three no-op Celery tasks
	scripts/bootstrap.sh dev && scripts/ensure-services.sh && .venv/bin/python -m bench.workflows

env-docs:  ## regenerate .env.example from config/env.py
	.venv/bin/python -m config.env --dotenv > .env.example
