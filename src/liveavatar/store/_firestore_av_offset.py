"""`Store.av_offset` on Firestore: the page-reported offsets of the turns ending in a range.

The emulator has no collection-group query over every conversation's `turns`, so
`record_playback` copies the offset onto the turn's `turnTimes` document (`avOffsetMs`),
which the latency percentiles already read by a range on its end time; this reads the
same range, selecting the offset alone. A turn without a report has no `avOffsetMs`.
Mixed into `FirestoreStore`.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from google.cloud.firestore import AsyncClient, FieldFilter

from liveavatar.store import _common as c
from liveavatar.store._firestore_codec import TURN_TIMES
from liveavatar.store.av_offset import AvOffset, av_offset

AV_OFFSET_FIELD = "avOffsetMs"


class FirestoreAvOffset:
    """`Store.av_offset` on Firestore."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    async def av_offset(self, start_date: dt.date | str, end_date: dt.date | str) -> AvOffset:
        """p50/p95 of the stored A/V offsets of the turns ending in the range's UTC days.

        Reads one small document per turn of the range (as `daily_latency` does), which
        the dashboard caches."""
        days = c.day_range(start_date, end_date)
        if not days:
            return AvOffset()
        first, after = c.day_bounds(days)
        query = (
            self._db.collection(TURN_TIMES)
            .where(filter=FieldFilter("endedAt", ">=", first))
            .where(filter=FieldFilter("endedAt", "<", after))
            .select([AV_OFFSET_FIELD])
        )
        offsets: list[object] = []
        async with self._guard():
            async for snap in query.stream():
                value = (snap.to_dict() or {}).get(AV_OFFSET_FIELD)
                if value is not None:
                    offsets.append(value)  # as stored: `av_offset` keeps the usable ones
        return av_offset(offsets)
