"""Each user's estimated cost per UTC day on Firestore (what the cost quota meters).

Kept beside the day's talk time: `users/{id}/usage/{day}`'s `costUsd` field, added with an
`Increment`, returning the day's new total as `add_usage` does for seconds. Mixed into
`FirestoreStore`, whose module is long enough already (`_sqlite_costs.py` is SQLite's).
"""

from __future__ import annotations

import contextlib
import datetime as dt

from google.cloud import firestore
from google.cloud.firestore import AsyncClient, AsyncDocumentReference

from liveavatar.store import _common as c
from liveavatar.store._firestore_codec import USER_DAYS, user_day_id


class FirestoreCosts:
    """`Store.add_cost` / `get_cost` on Firestore (mixed into `FirestoreStore`)."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    def _user(self, id: str) -> AsyncDocumentReference:
        raise NotImplementedError  # the store's own

    async def add_cost(self, user_id: str, date: dt.date | str, cost_usd: float) -> float:
        """Atomically add `cost_usd` to the user's day; the day's total."""
        c.nonneg(cost_usd=cost_usd)
        day = c.day_str(date)
        ref = self._user(user_id).collection("usage").document(day)
        add = firestore.Increment(float(cost_usd))
        batch = self._db.batch()
        batch.set(ref, {"date": day, "costUsd": add}, merge=True)
        # Beside it, where every user's days in a range are found (`_firestore_codec`).
        mirror = self._db.collection(USER_DAYS).document(user_day_id(user_id, day))
        batch.set(mirror, {"userId": user_id, "date": day, "costUsd": add}, merge=True)
        async with self._guard():
            await batch.commit()
            # As in add_usage: the emulator returns no transform results, so read it back.
            snap = await ref.get()
        return float((snap.to_dict() or {}).get("costUsd", 0.0))

    async def get_cost(self, user_id: str, date: dt.date | str) -> float:
        """The user's estimated cost on one day (0 if none)."""
        ref = self._user(user_id).collection("usage").document(c.day_str(date))
        async with self._guard():
            snap = await ref.get()
        return float((snap.to_dict() or {}).get("costUsd", 0.0)) if snap.exists else 0.0
