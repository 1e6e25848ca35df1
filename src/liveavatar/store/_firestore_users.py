"""Users on Firestore: `users/{id}` (email, settings, daily quota, blocked) and each
user's talk time per UTC day, `users/{id}/usage/{day}`, mirrored in `userDays` where every
user's days in a range are found (`_firestore_codec`).

Mixed into `FirestoreStore`, whose module is long enough already.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import AsyncClient, AsyncDocumentReference, FieldFilter

from liveavatar.store import _common as c
from liveavatar.store._firestore_codec import USER_DAYS, user_day_id, user_model
from liveavatar.store.base import UNSET, NotFound, _Unset
from liveavatar.store.models import User


class FirestoreUsers:
    """`Store`'s user and usage methods on Firestore (mixed into `FirestoreStore`)."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    def _user(self, id: str) -> AsyncDocumentReference:
        raise NotImplementedError  # the store's own

    async def ensure_user(self, id: str, email: str) -> User:
        doc: dict[str, Any] = {
            "id": id,
            "email": email,
            "settings": {},
            "quotaMinutesPerDay": None,
            "blocked": False,
            "createdAt": dt.datetime.now(c.UTC),
        }
        async with self._guard():
            with contextlib.suppress(gexc.AlreadyExists):
                await self._user(id).create(doc)
        user = await self.get_user(id)
        if user is None:  # deleted in between
            raise NotFound(f"user {id!r}")
        return user

    async def get_user(self, id: str) -> User | None:
        async with self._guard():
            snap = await self._user(id).get()
        data = snap.to_dict() if snap.exists else None
        return None if data is None else user_model(data)

    async def list_users(self, limit: int = 50, after_id: str | None = None) -> list[User]:
        c.check_limit(limit)
        query: Any = self._db.collection("users")
        if after_id is not None:
            query = query.where(filter=FieldFilter("id", ">", after_id))
        query = query.order_by("id").limit(limit)
        async with self._guard():
            docs = [snap.to_dict() async for snap in query.stream()]
        return [user_model(d) for d in docs if d is not None]

    async def update_user(
        self,
        id: str,
        *,
        quota_minutes_per_day: float | None | _Unset = UNSET,
        settings: dict[str, Any] | _Unset = UNSET,
        blocked: bool | _Unset = UNSET,
    ) -> User:
        fields: dict[str, Any] = {}
        if not isinstance(quota_minutes_per_day, _Unset):
            if quota_minutes_per_day is not None:
                c.nonneg(quota_minutes_per_day=quota_minutes_per_day)
            # A plain None, not DELETE_FIELD: the emulator ignores that sentinel.
            fields["quotaMinutesPerDay"] = quota_minutes_per_day
        if not isinstance(settings, _Unset):
            fields["settings"] = dict(settings)
        if not isinstance(blocked, _Unset):
            fields["blocked"] = bool(blocked)
        if fields:
            async with self._guard():
                try:
                    await self._user(id).update(fields)
                except gexc.NotFound:
                    raise NotFound(f"user {id!r}") from None
        user = await self.get_user(id)
        if user is None:
            raise NotFound(f"user {id!r}")
        return user

    async def add_usage(self, user_id: str, date: dt.date | str, seconds: float) -> float:
        c.nonneg(seconds=seconds)
        day = c.day_str(date)
        ref = self._user(user_id).collection("usage").document(day)
        batch = self._db.batch()
        batch.set(ref, {"date": day, "seconds": firestore.Increment(float(seconds))}, merge=True)
        mirror = self._db.collection(USER_DAYS).document(user_day_id(user_id, day))
        body = {"userId": user_id, "date": day, "seconds": firestore.Increment(float(seconds))}
        batch.set(mirror, body, merge=True)
        async with self._guard():
            await batch.commit()
            # The emulator returns no transform results, so read the total back; with
            # concurrent adds it may already include theirs (never less than ours).
            snap = await ref.get()
        return float((snap.to_dict() or {}).get("seconds", 0.0))

    async def get_usage(self, user_id: str, date: dt.date | str) -> float:
        ref = self._user(user_id).collection("usage").document(c.day_str(date))
        async with self._guard():
            snap = await ref.get()
        return float((snap.to_dict() or {}).get("seconds", 0.0)) if snap.exists else 0.0
