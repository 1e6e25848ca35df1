"""Dashboard page load time over a large SQLite store.

`python -m bench.dashboard --json` builds a SQLite store (a temporary directory) with
10,000 conversations and 200,000 turns spread over the last 14 days, then loads the Overview
and the Conversations page 5 times each and prints the p50 (and the first, cold, load).

How a load is measured: one run of the dashboard script through Streamlit's `AppTest`
(in-process, no browser, no network): settings, guard, navigation and the page, its store
queries included. Each load is a fresh `AppTest` (a new session), so only the dashboard's
own query cache (`DASHBOARD_CACHE_S`, shown on the page) carries over, as it does between
visitors of a served dashboard; the first load of each page runs its queries cold.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from liveavatar.store import DB_FILENAME, SQLiteStore, TurnRecord

APP = Path(__file__).resolve().parents[1] / "src" / "liveavatar" / "dashboard" / "entry" / "app.py"
CONVERSATIONS = 10_000
TURNS_PER_CONVERSATION = 20
DAYS = 14
LOADS = 5
TARGET_MS = 1500.0
_CONCURRENCY = 64


def _turn(index: int, began: dt.datetime) -> TurnRecord:
    return TurnRecord(
        index=index,
        user_text=f"what is the weather like today, question {index}",
        model_text="It is sunny with a light breeze and about twenty degrees.",
        started_at=began,
        ended_at=began + dt.timedelta(seconds=4),
        time_to_first_audio_ms=300.0 + (index * 37) % 500,
        turn_latency_ms=600.0 + (index * 53) % 900,
        input_audio_tokens=100,
        output_audio_tokens=200,
        output_text_tokens=20,
        prompt_tokens=100,
        response_tokens=220,
        cost_usd=0.001,
    )


async def build_store(
    path: Path,
    *,
    conversations: int = CONVERSATIONS,
    turns: int = TURNS_PER_CONVERSATION,
    days: int = DAYS,
    today: dt.date | None = None,
) -> None:
    """Fill a SQLite store as the backend would: starts, turns, ends, usage and cost."""
    today = today or dt.datetime.now(dt.UTC).date()
    first = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), dt.UTC)
    span_s = days * 86_400 - turns * 10 - 60
    store = SQLiteStore(path)
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def one(i: int) -> None:
        async with limit:
            start = first + dt.timedelta(seconds=(i * span_s) // max(1, conversations))
            cid, uid = f"bench-{i:06d}", f"user-{i % 500:03d}"
            await store.start_conversation(cid, uid, start, None)
            await store.increment_daily(start.date(), sessions=1)
            for t in range(turns):
                await store.append_turn(cid, _turn(t, start + dt.timedelta(seconds=10 * t)))
            talk_s = turns * 10.0
            await store.end_conversation(cid, start + dt.timedelta(seconds=talk_s), talk_s)
            await store.add_usage(uid, start.date(), talk_s)
            await store.add_cost(uid, start.date(), turns * 0.001)

    try:
        for u in range(min(500, conversations)):
            await store.ensure_user(f"user-{u:03d}", f"user-{u:03d}@example.com")
        await asyncio.gather(*(one(i) for i in range(conversations)))
    finally:
        await store.close()


def load_page_ms(url_path: str | None) -> float:
    """One load of a page (None: the default, Overview) in a fresh session, in ms."""
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    at = AppTest.from_file(str(APP), default_timeout=120)
    if url_path is not None:
        # Pages are callables under st.navigation; a session opens one by its url path.
        at._page_hash = calc_hash(url_path)
    began = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - began) * 1000
    if at.exception:
        raise RuntimeError(f"{url_path or 'overview'}: {at.exception[0].value}")
    return elapsed


def measure(url_path: str | None, loads: int = LOADS) -> dict[str, Any]:
    runs = [round(load_page_ms(url_path), 1) for _ in range(loads)]
    return {"p50": statistics.median(runs), "cold": runs[0], "runs": runs}


def run(conversations: int, turns: int, loads: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        data = Path(tmp) / "data"
        began = time.perf_counter()
        asyncio.run(build_store(data / DB_FILENAME, conversations=conversations, turns=turns))
        seed_s = time.perf_counter() - began
        for name in ("ADMIN_TOKEN", "IAP_AUDIENCE", "ENVIRONMENT", "K_SERVICE"):
            os.environ.pop(name, None)
        os.environ.update(
            {
                "DATA_DIR": str(data),
                "MEDIA_DIR": str(Path(tmp) / "media"),
                "STORE_BACKEND": "sqlite",
                # Nothing listens there: the Overview's /metrics read fails fast.
                "BACKEND_URL": "ws://127.0.0.1:9/ws",
                "NO_GCE_CHECK": "true",
            }
        )
        from liveavatar.settings import Settings

        cache_s = Settings().dashboard_cache_s
        overview = measure(None, loads)
        conversations_page = measure("conversations", loads)
    return {
        "method": "AppTest: one in-process run of the dashboard script per load, fresh session",
        "conversations": conversations,
        "turns": conversations * turns,
        "seed_s": round(seed_s, 1),
        "cache_s": cache_s,
        "loads": loads,
        "overview_ms": overview,
        "conversations_ms": conversations_page,
        "target_ms": TARGET_MS,
        "meets_target": overview["p50"] <= TARGET_MS and conversations_page["p50"] <= TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    parser.add_argument("--turns", type=int, default=TURNS_PER_CONVERSATION)
    parser.add_argument("--loads", type=int, default=LOADS)
    args = parser.parse_args()
    print(json.dumps(run(args.conversations, args.turns, args.loads)))  # noqa: T201


if __name__ == "__main__":
    main()
