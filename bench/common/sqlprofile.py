"""Where an in-process call's time goes: every SQL statement on a Django
connection timed and sorted into a category, COMMIT timed on its own, the rest
is Python; and a cProfile written as text. Import after ``django.setup()``."""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

Categories = Sequence[tuple[str, re.Pattern]]


class StatementTimer:
    """Per phase: statement counts and summed seconds per category. Use as
    ``with timer.recording(connection): ...`` and set ``timer.phase`` between calls."""

    def __init__(self, categories: Categories):
        self.categories = categories
        self.phase = ""
        self.count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def classify(self, sql: str) -> str:
        for name, pattern in self.categories:
            if pattern.search(sql):
                return name
        return "other: " + " ".join(sql.split()[:4])[:60]

    def add(self, category: str, seconds: float) -> None:
        self.count[self.phase][category] += 1
        self.seconds[self.phase][category] += seconds

    def _wrapper(self, execute, sql, params, many, context):
        a = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.add(self.classify(sql), time.perf_counter() - a)

    @contextmanager
    def recording(self, connection):
        """Time the statements and COMMITs ``connection`` runs inside the block."""
        original = connection._commit

        def _commit():
            a = time.perf_counter()
            try:
                return original()
            finally:
                self.add("COMMIT", time.perf_counter() - a)

        connection._commit = _commit
        try:
            with connection.execute_wrapper(self._wrapper):
                yield self
        finally:
            del connection._commit  # back to the class's method

    def sql_seconds(self, phase: str) -> float:
        return sum(self.seconds[phase].values())

    def statements(self, phase: str) -> int:
        return sum(self.count[phase].values())

    def per_call(self, phase: str, n: int) -> dict[str, dict[str, float]]:
        """Per category, slowest first: how many per call and milliseconds per call."""
        return {
            cat: {
                "per_call": round(self.count[phase][cat] / n, 2),
                "ms_per_call": round(self.seconds[phase][cat] / n * 1000, 3),
            }
            for cat in sorted(self.count[phase], key=lambda c: -self.seconds[phase][c])
        }


def write_profile(profiler: cProfile.Profile, path: Path, header: str, *, top: int = 30) -> None:
    """The profile as text: the ``top`` functions by own time, then by cumulative time."""
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    stats.sort_stats("cumulative").print_stats(top + 15)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n\n" + stream.getvalue())
