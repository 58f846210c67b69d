"""Project settings plus one extra URL: the bare view the benchmark compares against.

Everything (middleware, database, cache, throttling) is the project's own, read from
the same environment variables; only the URLconf differs.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.http_baseline.urls"
