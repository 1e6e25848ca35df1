"""The days in the SQLite file: each UTC day's totals, its event counters, and the latency
percentiles over its stored turns.

Totals are `daily_metrics` rows, added to in place; counters are `daily_counters (date,
name, n)` rows, added in the same transaction as the totals of the same call. Percentiles
are not stored: they are computed from the turns ending in the range, found through the
`turns_by_end` index (which also holds what they read), so a month costs its own turns,
never every turn ever stored. Mixed into `SQLiteStore`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from typing import Any

from liveavatar.store import _common as c
from liveavatar.store._sqlite_rows import DAILY_COLS, DAILY_UPSERT, daily_row
from liveavatar.store._sqlite_worker import Worker, read_tx, write_tx
from liveavatar.store.day_totals import DailyLatency, DailyMetrics

_COUNTER_UPSERT = (
    "INSERT INTO daily_counters (date, name, n) VALUES (?, ?, ?)"
    " ON CONFLICT DO UPDATE SET n = n + excluded.n"
)
_DAYS = f"SELECT date, {', '.join(DAILY_COLS)} FROM daily_metrics WHERE date BETWEEN ? AND ?"
_COUNTERS = "SELECT date, name, n FROM daily_counters WHERE date BETWEEN ? AND ?"
# The UTC day of each turn's end, computed by SQLite: a month's turns are many rows.
_TURN_TIMES = (
    "SELECT date(ended_us / 1000000, 'unixepoch'), ttfa_ms, latency_ms FROM turns"
    " WHERE ended_us >= ? AND ended_us < ?"
)


class SQLiteDaily:
    """`Store.increment_daily`, `get_daily`, `list_daily` and `daily_latency` on SQLite."""

    _writer: Worker
    _reader: Worker

    async def increment_daily(
        self,
        date: dt.date | str,
        *,
        sessions: int = 0,
        turns: int = 0,
        latency_ms: float = 0.0,
        latency_count: int = 0,
        duration_s: float = 0.0,
        ended_sessions: int = 0,
        errors: int = 0,
        prompt_tokens: int = 0,
        response_tokens: int = 0,
        counters: Mapping[str, int] | None = None,
    ) -> None:
        """Atomically add to one day's totals and counters (see `Store.increment_daily`)."""
        values = c.daily_values(
            sessions=sessions,
            turns=turns,
            latency_ms=latency_ms,
            latency_count=latency_count,
            duration_s=duration_s,
            ended_sessions=ended_sessions,
            errors=errors,
            prompt_tokens=prompt_tokens,
            response_tokens=response_tokens,
        )
        named = c.counter_values(counters)
        day = c.day_str(date)

        def add(db: sqlite3.Connection) -> None:
            db.execute(DAILY_UPSERT, (day, *values))
            db.executemany(_COUNTER_UPSERT, [(day, k, n) for k, n in named.items()])

        await self._writer.call(write_tx(add))

    async def get_daily(self, date: dt.date | str) -> DailyMetrics:
        """One day's totals and counters (zero when nothing was recorded)."""
        day = c.day_str(date)
        found = await self._days(day, day)
        return found.get(day) or DailyMetrics(date=day)

    async def list_daily(
        self, start_date: dt.date | str, end_date: dt.date | str
    ) -> list[DailyMetrics]:
        """Every day of the inclusive range, oldest first, zero-filled."""
        days = c.day_range(start_date, end_date)
        if not days:
            return []
        found = await self._days(days[0], days[-1])
        return [found.get(d) or DailyMetrics(date=d) for d in days]

    async def _days(self, first: str, last: str) -> dict[str, DailyMetrics]:
        def query(db: sqlite3.Connection) -> dict[str, DailyMetrics]:
            totals = {r[0]: daily_row(r) for r in db.execute(_DAYS, (first, last))}
            counters: dict[str, dict[str, int]] = {}
            for day, name, n in db.execute(_COUNTERS, (first, last)):
                counters.setdefault(day, {})[name] = n
            out: dict[str, DailyMetrics] = {}
            for day in totals.keys() | counters.keys():
                base = totals.get(day) or DailyMetrics(date=day)
                out[day] = base.model_copy(update={"counters": counters.get(day, {})})
            return out

        return await self._reader.call(read_tx(query))

    async def daily_latency(
        self, start_date: dt.date | str, end_date: dt.date | str
    ) -> list[DailyLatency]:
        """Each day's exact p50/p95 of time to first audio and turn latency (by the UTC day
        of the turn's end), oldest first, days without turns filled with None."""
        days = c.day_range(start_date, end_date)
        if not days:
            return []
        first, after = c.day_bounds(days)
        args: tuple[Any, ...] = (c.to_us(first), c.to_us(after))

        def query(db: sqlite3.Connection) -> list[tuple[str, float | None, float]]:
            return db.execute(_TURN_TIMES, args).fetchall()

        return c.daily_latency(days, await self._reader.call(query))
