"""Latency summaries the benchmarks print: percentiles of sorted samples, and p50/p95/p99/
max in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, interpolating linearly between ranks.

    Matches numpy's default ("linear") method. Raises ValueError on an empty sequence.
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within [0, 1]")
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max in milliseconds (rounded to 0.01) and the sample count `n`."""
    if not seconds:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(seconds)
    out: dict[str, float | int | None] = {
        name: round(percentile(ordered, q) * 1000, 2)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }
    out["max"] = round(ordered[-1] * 1000, 2)
    out["n"] = len(ordered)
    return out
