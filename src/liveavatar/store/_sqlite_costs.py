"""Each user's estimated cost per UTC day in the SQLite file (what the cost quota meters).

Kept beside the day's talk time: the `usage` row's `cost_usd` column (schema v3), added
atomically, returning the day's new total as `add_usage` does for seconds. Mixed into
`SQLiteStore`, whose module is long enough already (`_firestore_costs.py` is Firestore's).
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from liveavatar.store import _common as c
from liveavatar.store._sqlite_worker import Worker, write_tx

_ADD = (
    "INSERT INTO usage (user_id, date, cost_usd) VALUES (?, ?, ?)"
    " ON CONFLICT DO UPDATE SET cost_usd = cost_usd + excluded.cost_usd RETURNING cost_usd"
)


class SQLiteCosts:
    """`Store.add_cost` / `get_cost` on the SQLite file (mixed into `SQLiteStore`)."""

    _writer: Worker
    _reader: Worker

    async def add_cost(self, user_id: str, date: dt.date | str, cost_usd: float) -> float:
        """Atomically add `cost_usd` to the user's day; the day's total."""
        args = (c.check_id(user_id, "user_id"), c.day_str(date), float(cost_usd))
        c.nonneg(cost_usd=cost_usd)

        def add(db: sqlite3.Connection) -> float:
            return float(db.execute(_ADD, args).fetchone()[0])

        return await self._writer.call(write_tx(add))

    async def get_cost(self, user_id: str, date: dt.date | str) -> float:
        """The user's estimated cost on one day (0 if none)."""
        args = (c.check_id(user_id, "user_id"), c.day_str(date))
        sql = "SELECT cost_usd FROM usage WHERE user_id = ? AND date = ?"
        row = await self._reader.call(lambda db: db.execute(sql, args).fetchone())
        return 0.0 if row is None else float(row[0])
