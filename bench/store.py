"""Store write latency and throughput.

`python -m bench.store --json` prints one JSON object for the SQLite store (a fresh file in
a temporary directory): `append_turn_ms` and `daily_metrics_update_ms` (p50/p95 of
sequential calls) and `turns_per_second_200_sessions` (200 concurrent asyncio sessions, each
appending its turns as fast as the store allows, plus the p95 of one append under that
load). With `--firestore` the same measurements for the Firestore store against the local
emulator (started here, on loopback) appear under the key `firestore`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from liveavatar.child_lifetime import exit_with_parent, sigterm_as_interrupt
from liveavatar.store import DB_FILENAME, SQLiteStore, Store, TurnRecord

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "tests" / "support" / "firestore_emulator.js"
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
SESSIONS = 200


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": round(statistics.median(ordered), 3), "p95": pick(0.95), "n": len(ordered)}


def make_turn(index: int) -> TurnRecord:
    began = T0 + dt.timedelta(seconds=5 * index)
    return TurnRecord(
        index=index,
        user_text=f"what is the weather like today, question {index}",
        model_text="It is sunny with a light breeze and about twenty degrees. " * 3,
        started_at=began,
        ended_at=began + dt.timedelta(seconds=4),
        time_to_first_audio_ms=420.0,
        turn_latency_ms=640.0,
        prompt_tokens=120,
        response_tokens=60,
    )


async def timed(call: Awaitable[object]) -> float:
    """Milliseconds to await `call` (a coroutine not yet started)."""
    start = time.perf_counter()
    await call
    return (time.perf_counter() - start) * 1000


async def sequential(store: Store, calls: int) -> dict[str, Any]:
    await store.start_conversation("seq", "bench", T0, None)
    appends = [await timed(store.append_turn("seq", make_turn(i))) for i in range(calls)]
    updates = [
        await timed(
            store.increment_daily(
                "2024-05-01", turns=1, latency_ms=640.0, latency_count=1, prompt_tokens=120
            )
        )
        for _ in range(calls)
    ]
    return {
        "append_turn_ms": percentiles(appends),
        "daily_metrics_update_ms": percentiles(updates),
    }


async def concurrent(store: Store, turns_per_session: int) -> dict[str, Any]:
    latencies: list[float] = []

    async def session(n: int) -> None:
        cid = f"load-{n:03d}"
        await store.start_conversation(cid, f"user-{n % 20}", T0, None)
        for i in range(turns_per_session):
            latencies.append(await timed(store.append_turn(cid, make_turn(i))))

    start = time.perf_counter()
    await asyncio.gather(*(session(n) for n in range(SESSIONS)))
    elapsed = time.perf_counter() - start
    total = SESSIONS * turns_per_session
    return {
        "turns_per_second_200_sessions": round(total / elapsed, 1),
        "append_turn_ms_under_load": percentiles(latencies),
        "load_turns": total,
    }


async def measure(store: Store, calls: int, turns_per_session: int) -> dict[str, Any]:
    try:
        return {**await sequential(store, calls), **await concurrent(store, turns_per_session)}
    finally:
        await store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def firestore_emulator() -> AsyncIterator[str]:
    """Run the npm emulator on loopback; yields its host:port once it says it is ready."""
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is required for --firestore (and `npm ci` at the repo root)")
    grpc_port, http_port = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        node,
        str(LAUNCHER),
        str(grpc_port),
        str(http_port),
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=exit_with_parent(),
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(30):
            line = await proc.stdout.readline()
        if not line.startswith(b"firestore emulator ready"):
            raise SystemExit(f"firestore emulator did not start: {line!r}")
        yield f"127.0.0.1:{grpc_port}"
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def main(calls: int, turns_per_session: int, with_firestore: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        sqlite = SQLiteStore(Path(tmp) / DB_FILENAME)
        result: dict[str, Any] = {
            "backend": "sqlite",
            "synchronous": "NORMAL",
            "sessions": SESSIONS,
            **await measure(sqlite, calls, turns_per_session),
        }
    if with_firestore:
        os.environ.setdefault("NO_GCE_CHECK", "true")
        async with firestore_emulator() as host:
            os.environ["FIRESTORE_EMULATOR_HOST"] = host
            from liveavatar.store.firestore import FirestoreStore

            store = FirestoreStore(project="demo-bench")
            result["firestore"] = {
                "backend": "firestore-emulator",
                **await measure(store, calls, turns_per_session),
            }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--calls", type=int, default=500, help="sequential calls per metric")
    parser.add_argument("--turns-per-session", type=int, default=25)
    parser.add_argument("--firestore", action="store_true", help="also the Firestore emulator")
    args = parser.parse_args()
    with sigterm_as_interrupt():
        result = asyncio.run(main(args.calls, args.turns_per_session, args.firestore))
    print(json.dumps(result))
