"""What the benchmarks share, so each of them holds only what it measures.

- ``infra``: the project paths, the Django environment, the benchmark database,
  ports and waiting, processes in their own group, Celery workers and the
  throw-away brokers (own redis-server, RabbitMQ vhost). No Django import, so a
  parent process can use it before ``django.setup()``.
- ``probes``: database and queue figures read in a process whose Django is set up.
- ``stats``: percentiles.
- ``cli``: the command line, SIGTERM, run metadata and the results file.
"""
