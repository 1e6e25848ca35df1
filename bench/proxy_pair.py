"""Two backend revisions at the same time, on the same core, under the same load.

`python -m bench.proxy_pair --a NAME=SRC --b NAME=SRC --sessions N --seconds S --repeat R
--json` starts one Live peer (`--peer`, as `bench.proxy`'s) and two `liveavatar serve`
children, one importing `liveavatar` from each SRC (a path, or `.` for this checkout),
both pinned to the same core. Each round, N browser sessions stream to each backend at
once for S seconds (`bench._loadgen`), and each backend's CPU time from the moment all
sessions are connected until the last echo is divided by the chunks it echoed.

Run one after the other (`bench.proxy_variants`), two revisions meet different moments
of a shared machine, and how starved a backend is changes how many frames each wake-up
handles, so its CPU per chunk moves by tens of percent between rounds. Run together, both
get the same share of the same core at the same moments: their ratio (`b_over_a`, per
round, and its median) is the robust figure; absolute figures still follow the machine.
Fresh children each round; the order of the two start-ups alternates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from liveavatar.child_lifetime import sigterm_as_interrupt

from ._children import (
    HOST,
    START_TIMEOUT_S,
    Child,
    free_port,
    kill_leftovers,
    log,
    set_verbose,
    wait_healthy,
)
from ._cpu import CpuLayout, CpuProbe
from ._loadgen import Target, run_phase
from ._percentiles import summarize_ms
from ._proxy_run import RunConfig, spawn_backend, spawn_peer


def parse_side(text: str) -> tuple[str, str | None]:
    """`NAME=SRC` as (name, source path or None for this checkout)."""
    name, sep, src = text.partition("=")
    if not sep or not name or not src:
        raise ValueError(f"expected NAME=SRC, got {text!r}")
    return name, None if src == "." else src


async def one_round(
    base: RunConfig, sides: Sequence[tuple[str, str | None]], flip: bool
) -> dict[str, Any]:
    """Both backends up, N sessions each at once, CPU per chunk of each."""
    out: dict[str, Any] = {"host_load_avg_1m_before": round(os.getloadavg()[0], 2)}
    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="bench-pair-") as tmp:
        try:
            peer, emu_port = await spawn_peer(base, tmp)
            children.append(peer)
            ports: dict[str, int] = {}
            backends: dict[str, Child] = {}
            for name, src in reversed(sides) if flip else sides:
                port = ports[name] = free_port()
                cfg = replace(base, backend_src=src)
                child = await spawn_backend(cfg, tmp, emu_port, port, name=name)
                children.append(child)
                backends[name] = child
                await wait_healthy(child, port, START_TIMEOUT_S)
            if base.layout.loadgen:
                os.sched_setaffinity(0, base.layout.loadgen)
            for name, _ in sides:  # first use of each backend, not billed to the sessions
                await run_phase(Target("proxied", HOST, ports[name], "/ws"), 1, 1.0, warmup_s=0)
            probes = {name: CpuProbe(backends[name].proc.pid) for name, _ in sides}
            work = {name: CpuProbe(backends[name].proc.pid) for name, _ in sides}
            results = await asyncio.gather(
                *(
                    run_phase(
                        Target("proxied", HOST, ports[name], "/ws"),
                        base.sessions,
                        base.seconds,
                        warmup_s=base.warmup_s,
                        drain_timeout_s=base.drain_timeout_s,
                        probes=[probes[name]],
                        on_connected=work[name].start,
                    )
                    for name, _ in sides
                )
            )
            for (name, _), result in zip(sides, results, strict=True):
                work[name].stop()
                seconds = work[name].seconds
                out[name] = {
                    "backend_cpu_percent": probes[name].percent,
                    "backend_cpu_us_per_chunk": round(seconds / result.chunks_received * 1e6, 1)
                    if seconds is not None and result.chunks_received
                    else None,
                    "round_trip_ms": summarize_ms(result.rtts),
                    "chunks_sent": result.chunks_sent,
                    "chunks_received": result.chunks_received,
                    "errors": sum(result.errors.values()),
                }
        finally:
            await asyncio.gather(*(c.stop() for c in children), return_exceptions=True)
    out["host_load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return out


async def run(
    base: RunConfig, sides: Sequence[tuple[str, str | None]], repeat: int
) -> dict[str, Any]:
    rounds = []
    for i in range(repeat):
        log(f"round {i + 1}/{repeat}")
        rounds.append(await one_round(base, sides, flip=bool(i % 2)))
    (a, _), (b, _) = sides
    ratios = [
        round(r[b]["backend_cpu_us_per_chunk"] / r[a]["backend_cpu_us_per_chunk"], 3)
        for r in rounds
        if r.get(a, {}).get("backend_cpu_us_per_chunk")
        and r.get(b, {}).get("backend_cpu_us_per_chunk")
    ]
    return {
        "sessions_each": base.sessions,
        "seconds": base.seconds,
        "peer": base.peer,
        "sides": {name: src or "this checkout" for name, src in sides},
        f"{b}_over_{a}_cpu_per_chunk": ratios,
        f"{b}_over_{a}_cpu_per_chunk_median": statistics.median(ratios) if ratios else None,
        "rounds": rounds,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.proxy_pair",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--a", required=True, help="NAME=SRC, the reference")
    parser.add_argument("--b", required=True, help="NAME=SRC, compared with it")
    parser.add_argument("--sessions", type=int, default=40, help="sessions per backend (40)")
    parser.add_argument("--seconds", type=float, default=6.0, help="audio per round (6)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds excluded (1)")
    parser.add_argument("--repeat", type=int, default=4, help="rounds (4)")
    parser.add_argument("--peer", choices=["emulator", "light"], default="light")
    parser.add_argument("--json", action="store_true", help="one compact JSON line")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    try:
        sides = [parse_side(args.a), parse_side(args.b)]
    except ValueError as exc:
        parser.error(str(exc))
    if sides[0][0] == sides[1][0] or args.repeat < 1 or args.sessions < 1:
        parser.error("names must differ; --repeat and --sessions at least 1")
    set_verbose(args.verbose)
    layout = CpuLayout.detect()
    base = RunConfig(args.sessions, args.seconds, args.warmup, 5.0, layout, peer=args.peer)
    try:
        with sigterm_as_interrupt():
            result = asyncio.run(run(base, sides, args.repeat))
    except KeyboardInterrupt:
        return 130
    finally:
        kill_leftovers()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
