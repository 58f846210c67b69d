"""Create (or reuse) the benchmark user; run in a subprocess with Django configured.

``python -m bench.http_baseline.ensure_user`` reads the username, role and password
from BENCH_USERNAME, BENCH_ROLE and BENCH_PASSWORD (environment, so the password is
not on a command line); ``bench.common.web.ensure_user`` does the rest.
"""

import os

import django


def main() -> None:
    django.setup()
    from bench.common import web

    print(
        web.ensure_user(
            os.environ["BENCH_USERNAME"], os.environ["BENCH_PASSWORD"], [os.environ["BENCH_ROLE"]]
        )
    )


if __name__ == "__main__":
    main()
