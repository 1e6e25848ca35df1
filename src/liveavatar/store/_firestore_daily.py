"""The days on Firestore: each UTC day's totals, its event counters, and the latency
percentiles over its stored turns.

Totals are `metrics/{day}` (every update an `Increment`); counters are
`dailyCounters/{day}|{name}` documents (`n` incremented), written in the same batch as the
call's totals: the emulator cannot increment a field inside a map, so `counters.<name>`
cannot be used. Percentiles are computed from `turnTimes`, one small document per stored
turn, read by a range on its end time (a single-field index). Mixed into `FirestoreStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Mapping
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import AsyncClient, AsyncDocumentReference, FieldFilter

from liveavatar.store import _common as c
from liveavatar.store._firestore_codec import (
    DAILY_COUNTERS,
    TURN_TIMES,
    daily_doc,
    daily_model,
)
from liveavatar.store.models import DailyLatency, DailyMetrics

# How many days' turn times `daily_latency` reads at once.
_DAY_QUERIES = 8


class FirestoreDaily:
    """`Store.increment_daily`, `get_daily`, `list_daily` and `daily_latency` on Firestore."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    def _daily(self, day: str) -> AsyncDocumentReference:
        return self._db.collection("metrics").document(day)

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
        if not any(values) and not named:
            return  # nothing to add: no write
        batch = self._db.batch()
        if any(values):
            batch.set(self._daily(day), daily_doc(day, values), merge=True)
        for name, n in named.items():
            ref = self._db.collection(DAILY_COUNTERS).document(f"{day}|{name}")
            batch.set(ref, {"date": day, "name": name, "n": firestore.Increment(n)}, merge=True)
        async with self._guard():
            await batch.commit()

    async def get_daily(self, date: dt.date | str) -> DailyMetrics:
        """One day's totals and counters (zero when nothing was recorded)."""
        day = c.day_str(date)
        return (await self._days([day]))[0]

    async def list_daily(
        self, start_date: dt.date | str, end_date: dt.date | str
    ) -> list[DailyMetrics]:
        """Every day of the inclusive range, oldest first, zero-filled."""
        days = c.day_range(start_date, end_date)
        return await self._days(days) if days else []

    async def _days(self, days: list[str]) -> list[DailyMetrics]:
        totals = self._in_range("metrics", days)
        named = self._in_range(DAILY_COUNTERS, days)
        counters: dict[str, dict[str, int]] = {}
        async with self._guard():
            found = {s.id: s.to_dict() async for s in totals.stream()}
            async for snap in named.stream():
                doc = snap.to_dict() or {}
                counters.setdefault(doc["date"], {})[doc["name"]] = int(doc.get("n", 0))
        return [
            daily_model(d, found.get(d)).model_copy(update={"counters": counters.get(d, {})})
            for d in days
        ]

    def _in_range(self, collection: str, days: list[str]) -> Any:
        return (
            self._db.collection(collection)
            .where(filter=FieldFilter("date", ">=", days[0]))
            .where(filter=FieldFilter("date", "<=", days[-1]))
        )

    async def daily_latency(
        self, start_date: dt.date | str, end_date: dt.date | str
    ) -> list[DailyLatency]:
        """Each day's exact p50/p95 of time to first audio and turn latency (by the UTC day
        of the turn's end), oldest first, days without turns filled with None.

        Reads one small document per turn of the range, one query per day (each bounded
        in time on its own, `_DAY_QUERIES` at once): a month of a busy service is many
        reads, which the dashboard caches.
        """
        days = c.day_range(start_date, end_date)
        if not days:
            return []
        gate = asyncio.Semaphore(_DAY_QUERIES)
        per_day = await asyncio.gather(*(self._turn_times(d, gate) for d in days))
        return c.daily_latency(days, [row for rows in per_day for row in rows])

    async def _turn_times(
        self, day: str, gate: asyncio.Semaphore
    ) -> list[tuple[str, float | None, float]]:
        first, after = c.day_bounds([day])
        query = (
            self._db.collection(TURN_TIMES)
            .where(filter=FieldFilter("endedAt", ">=", first))
            .where(filter=FieldFilter("endedAt", "<", after))
            .select(["ttfaMs", "latencyMs"])
        )
        rows: list[tuple[str, float | None, float]] = []
        async with gate, self._guard():
            async for snap in query.stream():
                doc = snap.to_dict() or {}
                ttfa = doc.get("ttfaMs")
                rows.append((day, None if ttfa is None else float(ttfa), float(doc["latencyMs"])))
        return rows
