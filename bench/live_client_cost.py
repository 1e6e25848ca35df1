"""CPU per audio round trip of each of our Live clients, finely interleaved.

`python -m bench.live_client_cost --json` starts the Live emulator (TLS, echo brain) as a
child process on the other core and, in this process (pinned to one core), opens
`--connections` connections with each client (`LIVE_CLIENT=raw`: `websockets`; `picows`).
Then, for `--blocks` blocks, the clients take turns: in a block, every connection of one
client sends a 20 ms chunk, waits for its echo, and sends the next, until `--round-trips`
echoes have come back; this process's CPU time (`time.process_time`) for the block is
divided by them. Blocks alternate between the clients (a fraction of a second each), so
whatever else runs on a shared machine falls on both alike; the result is each client's
median CPU per round trip and the median of the per-pair ratios (picows / raw).

It measures what the backend spends on the Live side of the bridge (send one audio
message, receive and parse one reply, TLS both ways), which is where the two clients
differ; the browser side is the same for both (`bench.proxy_variants` runs the whole
bridge).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from liveavatar.child_lifetime import sigterm_as_interrupt
from liveavatar.emulator.tls import client_context
from liveavatar.live.connection import LiveChannel
from liveavatar.live.endpoint import GEMINI_PATH
from liveavatar.live.events import AudioOut
from liveavatar.live.picows_client import PicowsLiveConnection
from liveavatar.live.raw import Endpoint, RawLiveConnection

from . import _children
from ._audio_markers import marker_chunk
from ._children import START_TIMEOUT_S, Child
from ._cpu import CpuLayout

SETUP = {"generationConfig": {"responseModalities": ["AUDIO"]}}
CLIENTS: dict[str, type[RawLiveConnection] | type[PicowsLiveConnection]] = {
    "raw": RawLiveConnection,
    "picows": PicowsLiveConnection,
}


async def _ping_pong(conn: LiveChannel, count: int) -> None:
    """Send a chunk, wait for its echo, `count` times."""
    chunk = marker_chunk(1)
    events = conn.events()
    for _ in range(count):
        await conn.send_audio(chunk)
        async for event in events:
            if isinstance(event, AudioOut):
                break


async def measure(
    endpoint: Endpoint, connections: int, round_trips: int, blocks: int
) -> dict[str, Any]:
    opened = {
        name: [await cls.open(endpoint, SETUP) for _ in range(connections)]
        for name, cls in CLIENTS.items()
    }
    per_conn = max(1, round_trips // connections)
    us: dict[str, list[float]] = {name: [] for name in CLIENTS}
    try:
        for conns in opened.values():  # warm-up: first-use costs are not billed
            await asyncio.gather(*(_ping_pong(c, 20) for c in conns))
        for block in range(blocks):
            # Alternate which client goes first, so neither always follows the other.
            order = list(opened) if block % 2 == 0 else list(reversed(opened))
            for name in order:
                t0 = time.process_time()
                await asyncio.gather(*(_ping_pong(c, per_conn) for c in opened[name]))
                spent = time.process_time() - t0
                us[name].append(spent / (per_conn * connections) * 1e6)
    finally:
        for conns in opened.values():
            await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    ratios = [p / r for p, r in zip(us["picows"], us["raw"], strict=True) if r]
    return {
        "connections": connections,
        "round_trips_per_block": per_conn * connections,
        "blocks_per_client": blocks,
        "cpu_us_per_round_trip_median": {n: round(statistics.median(v), 1) for n, v in us.items()},
        "cpu_us_per_round_trip_quartiles": {
            n: [round(q, 1) for q in statistics.quantiles(v, n=4)] for n, v in us.items()
        },
        "picows_over_raw_median": round(statistics.median(ratios), 3),
        "picows_over_raw_quartiles": [round(q, 3) for q in statistics.quantiles(ratios, n=4)],
        "host_load_avg_1m": round(os.getloadavg()[0], 2),
    }


async def run(connections: int, round_trips: int, blocks: int) -> dict[str, Any]:
    layout = CpuLayout.detect()
    with tempfile.TemporaryDirectory(prefix="bench-live-client-") as tmp:
        emulator = await Child.spawn(
            "emulator",
            [sys.executable, "-m", "liveavatar", "emulator", "--port", "0"]
            + ["--brain", "echo", "--cert-dir", tmp],
            _children.child_env(LOG_LEVEL="INFO", NO_GCE_CHECK="true"),
            layout.emulator,
        )
        try:
            listening = await emulator.wait_for_log("live emulator listening", START_TIMEOUT_S)
            port = urlsplit(str(listening["url"])).port
            if layout.backend:
                os.sched_setaffinity(0, layout.backend)
            endpoint = Endpoint(
                url=f"wss://{_children.HOST}:{port}{GEMINI_PATH}",
                headers={"x-goog-api-key": "local-emulator"},
                model="models/gemini-3.8-live",
                ssl=client_context(Path(tmp)),
                vertex=False,
            )
            out = await measure(endpoint, connections, round_trips, blocks)
        finally:
            await emulator.stop()
    out["cpu_layout"] = layout.describe()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live_client_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--connections", type=int, default=10, help="per client (10)")
    parser.add_argument("--round-trips", type=int, default=500, help="per block (500)")
    parser.add_argument("--blocks", type=int, default=30, help="per client (30)")
    parser.add_argument("--json", action="store_true", help="one compact JSON line")
    args = parser.parse_args(argv)
    if min(args.connections, args.round_trips, args.blocks) < 2:
        parser.error("--connections, --round-trips and --blocks must be at least 2")
    try:
        with sigterm_as_interrupt():
            result = asyncio.run(run(args.connections, args.round_trips, args.blocks))
    except KeyboardInterrupt:
        return 130
    finally:
        _children.kill_leftovers()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
