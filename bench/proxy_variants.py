"""Backend variants side by side: `bench.proxy` runs interleaved, medians and ratios.

`python -m bench.proxy_variants --variant NAME=CLIENT[+SERVER][@SRC] ... --sessions N --seconds S
--repeat R --json` runs `bench.proxy`'s measurement (fresh emulator and backend, direct then
proxied phase) once per variant per round, R rounds, with the variants interleaved
(A B C A B C ...) so that a slow minute on a shared machine lands on every variant alike.
CLIENT is the backend's `LIVE_CLIENT`; SERVER `uvicorn` (default, `liveavatar serve`) or
`granian` (bench/_granian_serve.py); SRC, if given, is a source folder the backend imports
`liveavatar` from (PYTHONPATH), to compare a revision checked out beside this one (for
example `git worktree add ../before <commit>`, then `before=raw@../before/src`).

Per variant it reports the median over rounds of `added_ms` (p50/p95/p99), of the
backend's CPU per echoed chunk (`backend_cpu_us_per_chunk`: the work per round trip, the
figure least disturbed by other processes on a shared machine), its CPU (% of one core)
and CPU per session, plus the sum of dropped chunks and errors; and per round the ratio
of each variant's CPU per chunk, CPU and p95 added latency to the first variant's in the
same round, with the median of those ratios (`vs_first`). Every run's
full result is kept under `runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from liveavatar.child_lifetime import sigterm_as_interrupt

from ._children import kill_leftovers, log, set_verbose
from ._cpu import CpuLayout
from ._proxy_run import RunConfig, run_once

CLIENTS = ("raw", "picows", "sdk")
SERVERS = ("uvicorn", "granian")


@dataclass(frozen=True)
class Variant:
    name: str
    live_client: str
    backend_src: str | None
    server: str = "uvicorn"


def parse_variant(text: str) -> Variant:
    """`NAME=CLIENT[+SERVER][@SRC]`.

    Raises:
        ValueError: not that shape, or an unknown client or server.
    """
    name, sep, rest = text.partition("=")
    spec, _, src = rest.partition("@")
    client, _, server = spec.partition("+")
    server = server or "uvicorn"
    if not sep or not name or client not in CLIENTS or server not in SERVERS:
        raise ValueError(
            f"variant {text!r}: want NAME=CLIENT[+SERVER][@SRC], CLIENT one of {CLIENTS}, "
            f"SERVER one of {SERVERS}"
        )
    return Variant(name, client, str(Path(src).resolve()) if src else None, server)


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def summarize(variants: Sequence[Variant], rounds: list[dict[str, dict[str, Any]]]) -> Any:
    """Medians per variant and, per round, each variant against the first."""
    first = variants[0].name
    out: dict[str, Any] = {}
    for v in variants:
        runs = [r[v.name] for r in rounds]
        added = {
            q: _median([r.get("added_ms", {}).get(q) for r in runs]) for q in ("p50", "p95", "p99")
        }
        cpu = [r.get("backend_cpu_percent") for r in runs]
        per_chunk = [r.get("backend_cpu_us_per_chunk") for r in runs]
        chunk_ratio = [
            _ratio(
                r[v.name].get("backend_cpu_us_per_chunk"), r[first].get("backend_cpu_us_per_chunk")
            )
            for r in rounds
        ]
        cpu_ratio = [
            _ratio(r[v.name].get("backend_cpu_percent"), r[first].get("backend_cpu_percent"))
            for r in rounds
        ]
        p95_ratio = [
            _ratio(
                r[v.name].get("added_ms", {}).get("p95"), r[first].get("added_ms", {}).get("p95")
            )
            for r in rounds
        ]
        sessions = runs[0].get("sessions") or 1
        cpu_med = _median(cpu)
        out[v.name] = {
            "live_client": v.live_client,
            "server": v.server,
            "backend_src": "other revision" if v.backend_src else "this revision",
            "added_ms_median": added,
            "backend_cpu_us_per_chunk_median": _median(per_chunk),
            "backend_cpu_us_per_chunk_runs": per_chunk,
            "backend_cpu_percent_median": cpu_med,
            "backend_cpu_percent_per_session": round(cpu_med / sessions, 3) if cpu_med else None,
            "backend_cpu_percent_runs": cpu,
            "added_p95_ms_runs": [r.get("added_ms", {}).get("p95") for r in runs],
            "dropped_chunks": sum(int(r.get("dropped_chunks") or 0) for r in runs),
            "errors": sum(int(r.get("errors") or 0) for r in runs),
            "other_cpu_percent_runs": [r.get("other_cpu_percent") for r in runs],
            "vs_first": {
                "cpu_per_chunk_ratio_median": _median(chunk_ratio),
                "backend_cpu_ratio_median": _median(cpu_ratio),
                "added_p95_ratio_median": _median(p95_ratio),
            },
        }
    return out


async def run(variants: Sequence[Variant], base: RunConfig, repeat: int) -> dict[str, Any]:
    rounds: list[dict[str, dict[str, Any]]] = []
    for i in range(repeat):
        results: dict[str, dict[str, Any]] = {}
        for v in variants:
            log(f"round {i + 1}/{repeat}: {v.name}")
            cfg = replace(
                base, live_client=v.live_client, backend_src=v.backend_src, server=v.server
            )
            results[v.name] = await run_once(cfg)
        rounds.append(results)
    return {
        "sessions": base.sessions,
        "seconds": base.seconds,
        "repeat": repeat,
        "peer": base.peer,
        "order": "interleaved: " + " ".join(v.name for v in variants) + " per round",
        "variants": summarize(variants, rounds),
        "cpu_layout": base.layout.describe(),
        "runs": rounds,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.proxy_variants",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--variant", action="append", required=True, help="NAME=CLIENT[+SERVER][@SRC]"
    )
    parser.add_argument("--sessions", type=int, default=50, help="concurrent sessions (50)")
    parser.add_argument("--seconds", type=float, default=8.0, help="audio per phase (8)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds excluded (1)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (3)")
    parser.add_argument(
        "--peer", choices=["emulator", "light"], default="emulator", help="as bench.proxy's"
    )
    parser.add_argument("--json", action="store_true", help="one compact JSON line")
    parser.add_argument("--summary", action="store_true", help="leave out the full runs")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    try:
        variants = [parse_variant(v) for v in args.variant]
    except ValueError as exc:
        parser.error(str(exc))
    if len({v.name for v in variants}) != len(variants) or args.repeat < 1:
        parser.error("variant names must differ and --repeat be at least 1")
    set_verbose(args.verbose)
    base = RunConfig(
        args.sessions, args.seconds, args.warmup, 5.0, CpuLayout.detect(), peer=args.peer
    )
    try:
        with sigterm_as_interrupt():
            result = asyncio.run(run(variants, base, args.repeat))
    except KeyboardInterrupt:
        return 130
    finally:
        kill_leftovers()
    if args.summary:
        result.pop("runs")
    print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
