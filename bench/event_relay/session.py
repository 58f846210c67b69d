"""One broker's measurements, in a process of its own (started by ``__main__``).

    python -m bench.event_relay.session --broker NAME --out FILE [...]

The environment carries CELERY_BROKER_URL, so this process's Django settings are
read for that broker exactly as the worker's are (on RabbitMQ: quorum queues and
publisher confirms): publisher and worker cannot disagree on how the queue is
declared. Starts the worker, warms up, alternates relay / no-op / insert runs,
stops the worker and writes the runs as JSON to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from bench.common import cli

KINDS = ("relay", "noop", "insert")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.event_relay.session")
    p.add_argument("--broker", required=True)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--workdir", required=True, type=Path)
    p.add_argument("--worker-log", required=True, type=Path)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--repeats", type=int, required=True)
    p.add_argument("--warmup", type=int, required=True)
    p.add_argument("--timeout", type=float, required=True)
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from bench.common.probes import check_broker
    from bench.event_relay import infra, measure

    url = os.environ["CELERY_BROKER_URL"]
    name = args.broker
    # The settings were read at django.setup() with this URL, so they match the
    # worker's (queue type, publisher confirms on RabbitMQ); what is left to rule
    # out is eager mode and a stray broker.
    check_broker(measure.app, url)
    measure.create_tables()
    measure.truncate()
    worker = infra.worker(dict(os.environ), url, args.worker_log, args.workdir)
    runs: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    try:
        worker.start(measure.app)
        print(f"[{name}] worker {worker.nodename} answers (log: {args.worker_log})", flush=True)

        def one(kind: str, n: int) -> measure.RunResult:
            measure.truncate()
            result = measure.RUNNERS[kind](n, args.timeout)
            if not worker.alive():
                raise RuntimeError(f"the worker died during the {kind} run; log:\n{worker.log_tail()}")
            return result

        measured = cli.alternation(
            KINDS, one, warmup=args.warmup, repeats=args.repeats, size=args.events, label=f"[{name}] "
        )
        for repeat, kind, result in measured:
            runs[kind].append(result.as_dict())
            lat = (
                f"p50 {result.latency['p50_ms']:8.2f} ms  p95 {result.latency['p95_ms']:8.2f} ms"
                if result.latency
                else " " * 35
            )
            print(
                f"[{name}] repeat {repeat}/{args.repeats} {kind:<6} {result.per_s:8.1f}/s  {lat}  "
                f"total {result.total_s:6.2f} s  publishing {result.publish_s:6.2f} s",
                flush=True,
            )
    finally:
        worker.stop()
        try:
            measure.truncate()
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the real error
            print(f"[{name}] warning: could not empty the tables: {exc}", file=sys.stderr)
    from django.conf import settings

    queue_type = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE_TYPE", "classic")
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    return {
        "worker": worker.describe(),
        "celery_queue_type": queue_type,
        "publisher_confirms": bool(options.get("confirm_publish")),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cli.exit_on_sigterm()
    try:
        document = run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - reported to the parent by the exit status
        traceback.print_exc()
        print(f"[{args.broker}] FAILED: {exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
