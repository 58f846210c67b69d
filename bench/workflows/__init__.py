"""Benchmark: a three-step workflow run through the engine next to a plain
three-task Celery chain on the same worker (``python -m bench.workflows``)."""
