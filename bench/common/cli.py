"""What every benchmark's command line shares: its options, SIGTERM handling,
the order of its runs, its table, the run's metadata and the results file."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from bench.common.infra import PROJECT_DIR


def parser(name: str, doc: str) -> argparse.ArgumentParser:
    """The parser of ``python -m bench.<name>``, described by the module doc's first paragraph."""
    return argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc.split("\n\n")[0])


def add_repeats(p: argparse.ArgumentParser, alternated: str) -> None:
    p.add_argument("--repeats", type=int, default=3, help=f"{alternated} alternations (default 3)")


def add_warmup_count(p: argparse.ArgumentParser, default: int, items: str) -> None:
    p.add_argument(
        "--warmup", type=int, default=default, help=f"{items} before measuring (default {default})"
    )


def add_timeout(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--timeout``, resolved by ``resolve_timeout`` once the run's size is known."""
    p.add_argument("--timeout", type=float, default=None, help=help_text)


def require_between(
    p: argparse.ArgumentParser, args: argparse.Namespace, option: str, low, high, unit: str = ""
) -> None:
    value = getattr(args, option.removeprefix("--").replace("-", "_"))
    if not (low <= value <= high):
        p.error(f"{option} must be between {low} and {high}{f' {unit}' if unit else ''}")


def resolve_timeout(p: argparse.ArgumentParser, args: argparse.Namespace, default: float) -> None:
    """``--timeout`` given: checked; not given: ``default``, which grows with the run's size."""
    if args.timeout is None:
        args.timeout = default
    else:
        require_between(p, args, "--timeout", 1, 86_400, "seconds")


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so the finally blocks stop what the run started."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def run_main(main: Callable[[], int], label: str, *, stopped: str, failure_note: str = "") -> NoReturn:
    """Exit with ``main()``'s status; a failure or Ctrl-C as one line on stderr
    rather than a traceback (``main`` has already stopped what it started)."""
    try:
        sys.exit(main())
    except (RuntimeError, OSError) as exc:
        print(f"\n{label} FAILED: {exc}{failure_note}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"\n{label} interrupted; {stopped}", file=sys.stderr)
        sys.exit(130)


def alternation(
    kinds: tuple[str, ...], one: Callable, *, warmup: int, repeats: int, size: int, label: str = ""
) -> Iterator[tuple[int, str, object]]:
    """``(repeat, kind, one(kind, size))`` for every kind in turn, ``repeats`` times,
    after one unmeasured ``one(kind, warmup)`` of each. Each kind's run follows the
    others' of the same repeat, so per-repeat ratios compare runs made close in time."""
    if warmup:
        for kind in kinds:
            one(kind, warmup)
        print(f"{label}warm-up done ({warmup} per kind)", flush=True)
    for repeat in range(1, repeats + 1):
        for kind in kinds:
            yield repeat, kind, one(kind, size)


def print_table_header(first: str, first_width: int, columns: tuple[str, ...], width: int) -> str:
    """Print a table's header and its rule; return the rule, to close the table with."""
    header = f"{first:<{first_width}}" + "".join(f"{c:>{width}}" for c in columns)
    rule = "-" * len(header)
    print(header)
    print(rule)
    return rule


def git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        rev = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return f"{rev}{'+dirty' if dirty else ''}" if rev else "unknown"
    except OSError:
        return "unknown"


def host_meta() -> dict:
    """The first entries of every results file's ``meta``: when, which code, which host."""
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def write_results(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten {path.relative_to(PROJECT_DIR)}")
