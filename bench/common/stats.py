"""Percentiles, rates and medians of measured runs."""

from __future__ import annotations

from statistics import median


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of durations given in seconds, in milliseconds."""
    values = sorted(seconds)
    return {
        "p50_ms": round(percentile(values, 0.50) * 1000, 3),
        "p95_ms": round(percentile(values, 0.95) * 1000, 3),
        "p99_ms": round(percentile(values, 0.99) * 1000, 3),
        "max_ms": round(values[-1] * 1000, 3) if values else float("nan"),
    }


def rate_figures(n: int, t0: float, t_sent: float, end: float) -> tuple[float, float, float]:
    """(total_s, sending_s, per_s) of ``n`` items sent from ``t0`` to ``t_sent``,
    the last done at ``end`` (seconds, one clock), rounded as the results keep them."""
    total = end - t0
    return round(total, 4), round(t_sent - t0, 4), round(n / total, 1)


def medians(results: list[dict], group: str, keys=None, digits: int = 3) -> dict[str, float]:
    """Per key of the results' ``group`` dicts (``keys``, or all of the first's),
    the median over the results."""
    keys = results[0][group] if keys is None else keys
    return {key: round(median([r[group][key] for r in results]), digits) for key in keys}
