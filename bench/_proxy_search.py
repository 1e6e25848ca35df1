"""`bench.proxy --find-max` (the most sessions under a latency bound) and `--recording`
(the same run with recording off, then on)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from ._children import log
from ._proxy_run import OTHER_CPU_LIMIT, RunConfig, run_once


async def recording_side_by_side(base: RunConfig) -> dict[str, Any]:
    """The same run with recording off, then on for every session; the difference."""
    off = await run_once(replace(base, recording=False))
    on = await run_once(replace(base, recording=True))
    rise = None
    a, b = off.get("added_ms", {}).get("p95"), on.get("added_ms", {}).get("p95")
    if a is not None and b is not None:
        rise = round(b - a, 2)
    cpu = None
    c_off, c_on = off.get("backend_cpu_percent"), on.get("backend_cpu_percent")
    if c_off is not None and c_on is not None:
        cpu = round((c_on - c_off) / base.sessions, 3)
    return {
        "sessions": base.sessions,
        "seconds": base.seconds,
        "recording": {
            "p95_added_rise_ms": rise,
            "p95_added_ms": {"off": a, "on": b},
            "cpu_percent_per_recorded_session": cpu,
            "backend_cpu_percent": {"off": c_off, "on": c_on},
            "files": on.get("recorded_files"),
            "bytes": on.get("recorded_bytes"),
            "errors": {"off": off.get("errors"), "on": on.get("errors")},
            "off": off,
            "on": on,
        },
    }


# ---- search --------------------------------------------------------------------------------


def passes(result: dict[str, Any], threshold_ms: float) -> bool:
    """Whether a run kept p95 added latency under the threshold with no errors or drops."""
    added = result.get("added_ms", {}).get("p95")
    sent = result.get("chunks_sent", {}).get("proxied", 0)
    return (
        added is not None
        and added < threshold_ms
        and result.get("errors", 1) == 0
        and result.get("dropped_chunks", 1) <= 0.001 * sent
    )


async def find_max(start: int, limit: int, threshold_ms: float, base: RunConfig) -> dict[str, Any]:
    """Double the session count from `start` until a probe fails, then bisect (5 %)."""
    probes: list[dict[str, Any]] = []

    async def probe(n: int) -> bool:
        cfg = replace(base, sessions=n)
        for attempt in range(2):
            log(f"probe: {n} sessions")
            r = await run_once(cfg)
            # A probe that shared the machine with other busy processes is repeated once.
            if (r.get("other_cpu_percent") or 0.0) <= OTHER_CPU_LIMIT or attempt:
                break
            log(f"other processes used {r.get('other_cpu_percent')}% of a core: repeating")
            await asyncio.sleep(5.0)
        ok = passes(r, threshold_ms)
        keys = (
            "sessions", "added_ms", "direct_ms", "proxied_ms", "backend_cpu_percent",
            "loadgen_cpu_percent", "emulator_cpu_percent", "backend_rss_mb",
            "rss_mb_per_session", "dropped_chunks", "errors", "error_details",
            "other_cpu_percent", "warnings", "backend_cpu_us_per_chunk", "host_load_avg_1m",
        )  # fmt: skip
        probes.append({k: r.get(k) for k in keys} | {"pass": ok, "attempts": attempt + 1})
        return ok

    lo, hi, n = 0, None, max(1, start)
    while n <= limit:
        if not await probe(n):
            hi = n
            break
        lo, n = n, n * 2
    if hi is not None:
        while hi - lo > max(1, lo // 20):
            mid = (lo + hi) // 2
            if await probe(mid):
                lo = mid
            else:
                hi = mid
    return {
        "max_sessions_p95_added_under_20ms"
        if threshold_ms == 20
        else f"max_sessions_p95_added_under_{threshold_ms:g}ms": lo,
        "criterion": f"added_ms.p95 < {threshold_ms:g}, no errors, dropped <= 0.1% of sent",
        "limit_reached": hi is None,
        "probe_seconds": base.seconds,
        "peer": base.peer,
        "warmup_s": base.warmup_s,
        "probes": probes,
        "cpu_layout": base.layout.describe(),
    }
