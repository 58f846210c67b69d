"""Event relay: domain events through outbox → Celery → subscriber, against plain
Celery tasks on the same worker and broker.

Run ``python -m bench.event_relay --help``; see ``bench/README.md``.
"""
