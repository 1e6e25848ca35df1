"""The dashboard benchmark's pieces, at a tiny size."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bench.dashboard import build_store

from liveavatar.store import DB_FILENAME, SQLiteStore


def test_build_store_writes_what_the_backend_would(tmp_path: Path) -> None:
    today = dt.date(2026, 3, 14)
    path = tmp_path / DB_FILENAME
    asyncio.run(build_store(path, conversations=6, turns=3, days=2, today=today))

    async def read() -> tuple[int, int, int, float]:
        store = SQLiteStore(path)
        try:
            days = await store.list_daily(today - dt.timedelta(days=1), today)
            listed = await store.list_conversations(limit=100)
            turns = await store.get_turns(listed[0].id)
            seconds = sum(d.seconds for d in await store.list_user_days(days[0].date, today))
            return sum(d.total_sessions for d in days), len(listed), len(turns), seconds
        finally:
            await store.close()

    sessions, conversations, turns, seconds = asyncio.run(read())
    assert (sessions, conversations, turns) == (6, 6, 3)
    assert seconds == 6 * 3 * 10.0
