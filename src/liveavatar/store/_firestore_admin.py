"""What the dashboard asks of Firestore beyond the backend's writes: searching
conversations, reading their turns, deleting them (one, or all of a user's data), finding
users, resetting a day's usage, every user's days, and the persona's history.

Firestore has no substring search, so text is matched in the process over bounded queries:
a conversation search reads, newest first, the conversations its other filters select (by
the query, on `userId` and `sortKey`) in pages of `_SCAN_PAGE`, keeping those with a
matching line (each conversation's turns read until one matches, `_TURN_QUERIES`
conversations at once), until it has `limit` or has read `SCAN_CONVERSATIONS` of them; a
user search reads users by id in pages, up to `SCAN_USERS`. Mixed into `FirestoreStore`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import AsyncClient, AsyncDocumentReference, FieldFilter

from liveavatar.store import _common as c
from liveavatar.store._firestore_codec import (
    SUMMARY_FIELDS,
    TURN_TIMES,
    USER_DAYS,
    has_texts,
    message_model,
    persona_model,
    summary_fields,
    turn_model,
    user_day_id,
    user_model,
)
from liveavatar.store.base import StoreError
from liveavatar.store.day_totals import UserDay
from liveavatar.store.models import ConversationSummary, TurnRecord, User
from liveavatar.store.persona_config import PersonaConfig

# Bounds of the in-process text filters (conversations, users read per search).
SCAN_CONVERSATIONS = 2000
SCAN_USERS = 10_000
_SCAN_PAGE = 200
_DELETE_CHUNK = 100  # conversations per round (each deleted with its children)
_DELETE_BATCH = 400  # documents per batch (a batch takes at most 500 writes)
# How many conversations' turns a text search reads at once.
_TURN_QUERIES = 8


class FirestoreAdmin:
    """The dashboard's queries and privacy deletions on Firestore (mixed into the store)."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    def _conv(self, id: str) -> AsyncDocumentReference:
        raise NotImplementedError  # the store's own

    def _user(self, id: str) -> AsyncDocumentReference:
        raise NotImplementedError  # the store's own

    def _persona(self) -> AsyncDocumentReference:
        raise NotImplementedError  # the store's own

    # Conversations

    async def search_conversations(
        self,
        *,
        user_id: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        text: str | None = None,
        before: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[ConversationSummary]:
        """Conversations newest first, filtered by user, start time and transcript text
        (the text over at most `SCAN_CONVERSATIONS` conversations per call)."""
        c.check_limit(limit)
        c.check_window(start, end, before, before_id)
        needle = c.search_needle(text)
        uppers = [c.sort_key(end)] if end is not None else []
        if before is not None:
            uppers.append(c.sort_key(before, before_id))
        upper = min(uppers, default=None)
        lower = c.sort_key(start) if start is not None else None
        if needle is None:
            docs = await self._conversations(user_id, lower, upper, limit, with_lines=False)
            return [ConversationSummary(**summary_fields(d)) for d in docs]
        found: list[ConversationSummary] = []
        scanned = 0
        gate = asyncio.Semaphore(_TURN_QUERIES)
        while len(found) < limit and scanned < SCAN_CONVERSATIONS:
            page = await self._conversations(user_id, lower, upper, _SCAN_PAGE, with_lines=True)
            said = await asyncio.gather(*(self._says(d, needle, gate) for d in page))
            hits = [d for d, yes in zip(page, said, strict=True) if yes]
            found += [ConversationSummary(**summary_fields(d)) for d in hits]
            scanned += len(page)
            if len(page) < _SCAN_PAGE:
                break
            upper = page[-1]["sortKey"]
        return found[:limit]

    async def _says(self, doc: dict[str, Any], needle: str, gate: asyncio.Semaphore) -> bool:
        """Whether a line of the conversation contains `needle` (folded): those of earlier
        versions in its `messages`, then its turns', read until one matches."""
        if any(needle in c.fold(m.get("text", "")) for m in doc.get("messages") or ()):
            return True
        turns = self._conv(doc["id"]).collection("turns").select(["user_text", "model_text"])
        async with gate, self._guard(), contextlib.aclosing(turns.stream()) as stream:
            async for snap in stream:
                texts = (snap.to_dict() or {}).values()
                if any(needle in c.fold(t) for t in texts if isinstance(t, str)):
                    return True
        return False

    async def _conversations(
        self, user_id: str | None, lower: str | None, upper: str | None, n: int, *, with_lines: bool
    ) -> list[dict[str, Any]]:
        """Up to `n` conversations, newest first, of one user (or all), with `lower` <=
        sortKey < `upper`: one query, on the (userId, sortKey DESC) index."""
        query: Any = self._db.collection("conversations")
        if user_id is not None:
            query = query.where(filter=FieldFilter("userId", "==", user_id))
        if lower is not None:
            query = query.where(filter=FieldFilter("sortKey", ">=", lower))
        if upper is not None:
            query = query.where(filter=FieldFilter("sortKey", "<", upper))
        fields = [*SUMMARY_FIELDS, "sortKey", *(["messages"] if with_lines else [])]
        query = query.order_by("sortKey", direction=firestore.Query.DESCENDING)
        query = query.select(fields).limit(n)
        async with self._guard():
            docs = [snap.to_dict() async for snap in query.stream()]
        return [d for d in docs if d is not None]

    async def get_turns(self, conversation_id: str) -> list[TurnRecord]:
        """A conversation's stored turns by index, with their texts (for turns of earlier
        versions, those of the conversation's `messages` lines)."""
        conv = self._conv(conversation_id)
        query = conv.collection("turns").order_by("index")
        async with self._guard():
            # Only earlier versions' conversations have `messages`; for others this reads
            # no more than the document's existence.
            snap = await conv.get(["messages"])
            if not snap.exists:
                return []
            docs = [d async for s in query.stream() if (d := s.to_dict()) is not None]
        texts: dict[tuple[int, str], str] = {}
        for line in (snap.to_dict() or {}).get("messages") or ():
            message = message_model(line)
            texts[(message.turn_index, message.role)] = message.text
        return [
            turn_model(d, d["user_text"], d["model_text"])
            if has_texts(d)
            else turn_model(
                d, texts.get((d["index"], "user"), ""), texts.get((d["index"], "model"), "")
            )
            for d in docs
        ]

    async def delete_conversation(self, id: str) -> bool:
        """Delete one conversation with its turns, end markers and turn times; False if
        unknown. The day totals stay."""
        ref = self._conv(id)
        async with self._guard():
            exists = (await ref.get(["id"])).exists
        if not exists:
            return False
        await self._delete_conversation_tree(ref)
        return True

    async def _delete_conversation_tree(self, ref: AsyncDocumentReference) -> None:
        # The children first: if this stops half-way, the conversation is still there to be
        # found (and deleted) again.
        for name in ("turns", "markers"):
            await self._delete_matching(ref.collection(name))
        times = self._db.collection(TURN_TIMES).where(
            filter=FieldFilter("conversationId", "==", ref.id)
        )
        await self._delete_matching(times)
        async with self._guard():
            await ref.delete()

    async def _delete_conversations(self, query: Any) -> list[str]:
        """Delete every conversation `query` finds, as `delete_conversation` does; their ids."""
        deleted: list[str] = []
        previous: set[str] = set()
        while True:
            async with self._guard():
                refs = [s.reference async for s in query.limit(_DELETE_CHUNK).stream()]
            if not refs:
                return deleted
            if previous & (ids := {r.id for r in refs}):
                # A server that ignored the deletes must not keep this loop going forever.
                raise StoreError("firestore: deleted documents reappeared; stopping")
            for ref in refs:
                await self._delete_conversation_tree(ref)
            deleted += [r.id for r in refs]
            previous = ids

    async def delete_user_data(self, user_id: str) -> list[str]:
        """Every conversation of the user, their usage days and their record; the deleted
        conversations' ids."""
        user = self._user(user_id)
        mine = (
            self._db.collection("conversations")
            .where(filter=FieldFilter("userId", "==", user_id))
            .select(["id"])
        )
        deleted = await self._delete_conversations(mine)
        await self._delete_matching(user.collection("usage"))
        days = self._db.collection(USER_DAYS).where(filter=FieldFilter("userId", "==", user_id))
        await self._delete_matching(days)
        async with self._guard():
            await user.delete()
        return sorted(deleted)

    async def _delete_matching(self, query: Any, children: tuple[str, ...] = ()) -> int:
        """Delete every document `query` finds (and its `children` collections), in chunks."""
        total, previous = 0, set[str]()
        while True:
            async with self._guard():
                refs = [s.reference async for s in query.limit(_DELETE_BATCH).stream()]
            if not refs:
                return total
            if previous & (ids := {r.id for r in refs}):
                # A server that ignored the deletes must not keep this loop going forever.
                raise StoreError("firestore: deleted documents reappeared; stopping")
            for ref in refs:
                # Children first: if this stops half-way, the parent is found again next run.
                for name in children:
                    await self._delete_matching(ref.collection(name))
            batch = self._db.batch()
            for ref in refs:
                batch.delete(ref)
            async with self._guard():
                await batch.commit()
            total += len(refs)
            previous = ids

    # Users and usage

    async def find_users(self, text: str = "", *, limit: int = 50) -> list[User]:
        """Users whose id or email contains `text` (case-insensitive), ordered by id; the
        text over at most `SCAN_USERS` users."""
        c.check_limit(limit)
        needle = c.search_needle(text)
        found: list[User] = []
        after: str | None = None
        scanned = 0
        while len(found) < limit and scanned < SCAN_USERS:
            query: Any = self._db.collection("users")
            if after is not None:
                query = query.where(filter=FieldFilter("id", ">", after))
            page_size = limit if needle is None else _SCAN_PAGE
            query = query.order_by("id").limit(page_size)
            async with self._guard():
                docs = [d async for s in query.stream() if (d := s.to_dict()) is not None]
            users = [user_model(d) for d in docs]
            found += [
                u
                for u in users
                if needle is None or needle in c.fold(u.id) or needle in c.fold(u.email)
            ]
            scanned += len(users)
            if len(users) < page_size:
                break
            after = users[-1].id
        return found[:limit]

    async def reset_usage(self, user_id: str, date: dt.date | str) -> None:
        """A user's talk time and cost on one day back to 0 (nothing to do if none)."""
        day = c.day_str(date)
        usage = self._user(user_id).collection("usage").document(day)
        mirror = self._db.collection(USER_DAYS).document(user_day_id(user_id, day))
        async with self._guard():
            if not (await usage.get(["date"])).exists:
                return
            batch = self._db.batch()
            batch.set(usage, {"seconds": 0.0, "costUsd": 0.0}, merge=True)
            zero = {"userId": user_id, "date": day, "seconds": 0.0, "costUsd": 0.0}
            batch.set(mirror, zero, merge=True)
            with contextlib.suppress(gexc.NotFound):
                await batch.commit()

    async def list_user_days(
        self,
        start_date: dt.date | str,
        end_date: dt.date | str,
        *,
        user_id: str | None = None,
    ) -> list[UserDay]:
        """Each (user, day) of the inclusive range with talk time or cost, by date then user.

        One user's days are read from their own usage documents; everyone's from `userDays`.
        """
        days = c.day_range(start_date, end_date)
        if not days:
            return []
        base = (
            self._db.collection(USER_DAYS)
            if user_id is None
            else self._user(user_id).collection("usage")
        )
        query = base.where(filter=FieldFilter("date", ">=", days[0])).where(
            filter=FieldFilter("date", "<=", days[-1])
        )
        out: list[UserDay] = []
        async with self._guard():
            async for snap in query.stream():
                doc = snap.to_dict() or {}
                seconds = float(doc.get("seconds") or 0.0)
                cost = float(doc.get("costUsd") or 0.0)
                if seconds or cost:
                    owner = user_id if user_id is not None else doc["userId"]
                    out.append(
                        UserDay(user_id=owner, date=doc["date"], seconds=seconds, cost_usd=cost)
                    )
        return sorted(out, key=lambda d: (d.date, d.user_id))

    # Persona

    async def list_persona_versions(self, limit: int = 50) -> list[PersonaConfig]:
        """Saved persona versions, newest first."""
        c.check_limit(limit)
        query = (
            self._persona()
            .collection("versions")
            .order_by("version", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        async with self._guard():
            docs = [d async for s in query.stream() if (d := s.to_dict()) is not None]
        return [persona_model(d) for d in docs]

    async def get_persona_version(self, version: int) -> PersonaConfig | None:
        """One saved persona version, or None."""
        if version < 1:
            return None
        ref = self._persona().collection("versions").document(f"{int(version):06d}")
        async with self._guard():
            snap = await ref.get()
        data = snap.to_dict() if snap.exists else None
        return None if data is None else persona_model(data)
