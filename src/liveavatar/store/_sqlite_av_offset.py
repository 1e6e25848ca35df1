"""`Store.av_offset` on SQLite: the page-reported offsets of the turns ending in a range.

The offset is on the turn's model line (`messages.av_offset_ms`, set by `record_playback`);
the turns are found by their end through the `turns_by_end` index, then their model line by
its primary key, so a period costs its own turns. Mixed into `SQLiteStore`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from liveavatar.store import _common as c
from liveavatar.store._sqlite_worker import Worker
from liveavatar.store.av_offset import AvOffset, av_offset

_OFFSETS = (
    "SELECT m.av_offset_ms FROM turns t JOIN messages m"
    " ON m.conversation_id = t.conversation_id AND m.turn_index = t.turn_index"
    " AND m.role = 'model'"
    " WHERE t.ended_us >= ? AND t.ended_us < ? AND m.av_offset_ms IS NOT NULL"
)


class SQLiteAvOffset:
    """`Store.av_offset` on SQLite."""

    _reader: Worker

    async def av_offset(self, start_date: dt.date | str, end_date: dt.date | str) -> AvOffset:
        """p50/p95 of the stored A/V offsets of the turns ending in the range's UTC days."""
        days = c.day_range(start_date, end_date)
        if not days:
            return AvOffset()
        first, after = c.day_bounds(days)
        args = (c.to_us(first), c.to_us(after))

        def query(db: sqlite3.Connection) -> list[object]:
            # As stored (a REAL column still keeps text): `av_offset` keeps the usable ones.
            return [r[0] for r in db.execute(_OFFSETS, args)]

        return av_offset(await self._reader.call(query))
