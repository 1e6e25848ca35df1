"""The days on Firestore: each UTC day's totals, its event counters, and the latency
percentiles over its stored turns.

Firestore sustains about one write a second on one document, and every stored turn and
every session end of every instance adds to its day. So a day's totals are spread over
`SHARDS` documents, `metrics/{day}|{shard}`, each write incrementing one shard picked at
random (in the same batch as the turn or end it counts), and a read sums every document
whose `date` is the day. The unsharded `metrics/{day}` of earlier versions has that `date`
too, so it is summed as one more shard. Counters are likewise `dailyCounters/{day}|{name}|
{shard}` documents (`n` incremented; the emulator cannot increment a field inside a map, so
`counters.<name>` cannot be used), summed per name, the earlier `{day}|{name}` included.

Percentiles are computed from `turnTimes`, one small document per stored turn, read by a
range on its end time (a single-field index). Mixed into `FirestoreStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from google.cloud import firestore
from google.cloud.firestore import AsyncClient, AsyncDocumentReference, FieldFilter

from liveavatar.store import _common as c
from liveavatar.store._firestore_codec import (
    DAILY_COUNTERS,
    DAILY_FIELDS,
    TURN_TIMES,
    daily_doc,
    daily_model,
)
from liveavatar.store.day_totals import DailyLatency, DailyMetrics

# Shards per day. Writes to a day: one per stored turn, one per session end and a few
# `increment_daily` calls per session. At the backend's full scale (deploy/cloudrun/
# backend.yaml: maxScale 10 x containerConcurrency 60 = 600 conversations) and a turn about
# every 10 s (a spoken question and its answer), that is ~60 writes a second: 64 shards keep
# each near Firestore's one a second, bursts above it being tolerated. A read costs one
# document per shard written that day (a quiet day has few), so a 30-day chart reads at
# most 1,920, which the dashboard caches. A test keeps this in step with the service file;
# changing it is safe either way (reads sum whatever shards exist).
SHARDS = 64
TURN_EVERY_S = 10.0  # the cadence assumed above

# How many days' turn times `daily_latency` reads at once.
_DAY_QUERIES = 8


class FirestoreDaily:
    """`Store.increment_daily`, `get_daily`, `list_daily` and `daily_latency` on Firestore."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    def _daily(self, day: str) -> AsyncDocumentReference:
        """A shard of the day's totals, picked at random for one write."""
        return self._db.collection("metrics").document(f"{day}|{_shard():02d}")

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
            ref = self._db.collection(DAILY_COUNTERS).document(f"{day}|{name}|{_shard():02d}")
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
        sums: dict[str, dict[str, float]] = {}
        async with self._guard():
            async for snap in totals.stream():
                doc = snap.to_dict() or {}
                day = sums.setdefault(doc["date"], {})
                for field in DAILY_FIELDS:
                    if (value := doc.get(field)) is not None:
                        day[field] = day.get(field, 0) + value
            async for snap in named.stream():
                doc = snap.to_dict() or {}
                mine = counters.setdefault(doc["date"], {})
                mine[doc["name"]] = mine.get(doc["name"], 0) + int(doc.get("n", 0))
        return [
            daily_model(d, sums.get(d)).model_copy(update={"counters": counters.get(d, {})})
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


def _shard() -> int:
    # Spreading load, not security: any uniform pick will do.
    return random.randrange(SHARDS)
