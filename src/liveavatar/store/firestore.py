"""`FirestoreStore`: production persistence on Cloud Firestore (async client).

The document layout is described in `_firestore_codec`.

Only what the local emulator implements faithfully is used: get/set/update/delete, `create()`,
batches, `Increment`, `ArrayUnion`, `where` + `order_by` + `limit`, `select`. No cursors,
offsets, transactions, collection-group queries or `DELETE_FIELD`.

The composite indexes production needs are in `deploy/firestore.indexes.json`; the
store's tests run every query it issues under production's index rule against that file.

Idempotent turn appends: the batch's first write creates `turns/{index}` (the turn with its
texts, so a conversation's transcript grows by documents, never within one), which fails with
AlreadyExists if that turn is stored; the whole batch is then rejected (Firestore commits
batches atomically) and the append reports a duplicate. The same batch adds the turn to its
day's `metrics` document, so the day counts a turn exactly when it is stored (the end
marker of each session of a conversation, `markers/ended-{part}`, does the same for that
session's end). The emulator applies a batch's writes in order and stops at the first
failure, so putting the `create()` first keeps it correct there too; the one write it can
leave behind (the marker when the conversation is missing) is deleted again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore import AsyncClient, AsyncDocumentReference, FieldFilter

from liveavatar.store import _common as c
from liveavatar.store._firestore_admin import FirestoreAdmin
from liveavatar.store._firestore_av_offset import AV_OFFSET_FIELD, FirestoreAvOffset
from liveavatar.store._firestore_codec import (
    SUMMARY_FIELDS,
    TURN_LINE_FIELDS,
    TURN_TIMES,
    daily_doc,
    has_texts,
    message_model,
    persona_doc,
    persona_model,
    summary_fields,
    turn_doc,
    turn_lines,
    turn_times_doc,
    turn_times_id,
    turn_update,
)
from liveavatar.store._firestore_costs import FirestoreCosts
from liveavatar.store._firestore_daily import FirestoreDaily
from liveavatar.store._firestore_resume import FirestoreResume
from liveavatar.store._firestore_users import FirestoreUsers
from liveavatar.store.base import NotFound, StoreError, StoreUnavailable, VersionConflict
from liveavatar.store.models import (
    Conversation,
    ConversationSummary,
    TurnRecord,
    usable_av_offset,
)
from liveavatar.store.persona_config import PersonaConfig

_PERSONA_RETRIES = 5


class FirestoreStore(
    FirestoreUsers,
    FirestoreCosts,
    FirestoreDaily,
    FirestoreAvOffset,
    FirestoreAdmin,
    FirestoreResume,
):
    """The `Store` protocol on Firestore. Honours `FIRESTORE_EMULATOR_HOST` (client default)."""

    def __init__(
        self,
        *,
        project: str | None = None,
        database: str = "(default)",
        timeout_s: float = 10.0,
        client: AsyncClient | None = None,
    ) -> None:
        self._db = client or AsyncClient(project=project, database=database)
        self._timeout_s = timeout_s
        self._closed = False

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Bound the call in time and turn transport failures into `StoreUnavailable`."""
        if self._closed:
            raise StoreUnavailable("store is closed")
        try:
            async with asyncio.timeout(self._timeout_s):
                yield
        except TimeoutError:
            raise StoreUnavailable(f"firestore: no answer in {self._timeout_s:g} s") from None
        except (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.RetryError) as exc:
            raise StoreUnavailable(f"firestore unavailable: {exc}") from exc
        except gexc.GoogleAPICallError as exc:
            raise StoreError(f"firestore: {exc}") from exc

    def _conv(self, id: str) -> AsyncDocumentReference:
        return self._db.collection("conversations").document(c.check_id(id, "conversation id"))

    # Conversations

    async def start_conversation(
        self, id: str, user_id: str, at: dt.datetime, persona_version: int | None
    ) -> None:
        c.check_id(user_id, "user_id")
        doc = {
            "id": id,
            "userId": user_id,
            "timestamp": c.utc(at),
            "sortKey": c.sort_key(at, id),
            "duration": 0.0,
            "lastTurnAt": None,
            "personaVersion": persona_version,
            # ArrayUnion on a missing field fails in the emulator; start with an empty array.
            "sessionEnds": [],
        }
        async with self._guard():
            with contextlib.suppress(gexc.AlreadyExists):
                await self._conv(id).create(doc)

    async def append_turn(self, conversation_id: str, turn: TurnRecord) -> bool:
        conv = self._conv(conversation_id)
        marker = conv.collection("turns").document(f"{turn.index:06d}")
        day, daily = c.turn_daily(turn)
        batch = self._db.batch()
        batch.create(marker, turn_doc(turn))
        batch.update(conv, turn_update(turn))
        times = self._db.collection(TURN_TIMES).document(turn_times_id(conversation_id, turn.index))
        batch.set(times, turn_times_doc(conversation_id, turn))
        # Last, after the writes that can fail, so the emulator (which stops at a failed
        # write) never counts a turn it did not store.
        batch.set(self._daily(day), daily_doc(day, daily), merge=True)
        async with self._guard():
            try:
                await batch.commit()
            except gexc.AlreadyExists:
                return False  # this turn index is already stored: a retry
            except gexc.NotFound:
                await marker.delete()  # left behind by the emulator's non-atomic batch
                raise NotFound(f"conversation {conversation_id!r}") from None
        return True

    async def record_playback(
        self, conversation_id: str, index: int, heard_text: str, av_offset_ms: float | None
    ) -> bool:
        av_offset_ms = usable_av_offset(av_offset_ms)  # one the dashboard could not show: none
        turn = self._conv(conversation_id).collection("turns").document(f"{index:06d}")
        times = self._db.collection(TURN_TIMES).document(turn_times_id(conversation_id, index))
        async with self._guard():
            try:
                await turn.update({"heard_text": heard_text, "av_offset_ms": av_offset_ms})
            except gexc.NotFound:
                return False
            # Where the period's A/V offset is read (`av_offset`). Not in one batch with
            # the turn: a turn stored before `turnTimes` existed has no such document,
            # and its report still belongs on the turn.
            with contextlib.suppress(gexc.NotFound):
                await times.update({AV_OFFSET_FIELD: av_offset_ms})
        return True

    async def end_conversation(
        self,
        conversation_id: str,
        at: dt.datetime,
        duration_s: float,
        *,
        errors: int = 0,
        part: str = "",
    ) -> bool:
        c.nonneg(duration_s=duration_s, errors=errors)
        conv = self._conv(conversation_id)
        marker = conv.collection("markers").document(c.end_marker(part))
        ended = c.utc(at)
        day, daily = c.end_daily(at, duration_s, errors)
        batch = self._db.batch()
        batch.create(marker, {"at": ended, "duration": float(duration_s), "errors": errors})
        # Increments commute: the sessions' talk time adds up in whatever order ends land.
        batch.update(
            conv,
            {
                "duration": firestore.Increment(float(duration_s)),
                "errorCount": firestore.Increment(errors),
            },
        )
        # The conversation ended at the latest of its sessions' ends. With neither
        # transactions nor a Maximum transform in the emulator, each end joins a list (whose
        # latest is read as the end), which commutes too. A write of its own: the emulator
        # stops applying a write's transforms after an ArrayUnion, silently dropping the
        # increments that sort after it.
        batch.update(conv, {"sessionEnds": firestore.ArrayUnion([ended])})
        # Last, as in append_turn: counted only if the end marker was written; on another
        # document than the ArrayUnion, so that write's dropped transforms cannot touch it.
        batch.set(self._daily(day), daily_doc(day, daily), merge=True)
        async with self._guard():
            try:
                await batch.commit()
            except gexc.AlreadyExists:
                return False  # this session's end is already recorded: a retry
            except gexc.NotFound:
                await marker.delete()
                raise NotFound(f"conversation {conversation_id!r}") from None
        return True

    async def get_conversation(self, id: str) -> Conversation | None:
        conv = self._conv(id)
        turns = conv.collection("turns").select(TURN_LINE_FIELDS)
        async with self._guard():
            snap = await conv.get()
            data = snap.to_dict() if snap.exists else None
            if data is None:
                return None
            stored = [d async for s in turns.stream() if (d := s.to_dict()) is not None]
        # Turns of earlier versions have their lines in the conversation's `messages`.
        lines = [message_model(m) for m in data.get("messages") or ()]
        lines += [line for d in stored if has_texts(d) for line in turn_lines(d)]
        lines.sort(key=lambda m: (m.turn_index, m.role != "user"))
        return Conversation(**summary_fields(data), messages=lines)

    async def list_conversations(
        self,
        *,
        user_id: str | None = None,
        before: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[ConversationSummary]:
        c.check_limit(limit)
        if before_id is not None and before is None:
            raise ValueError("before_id needs before (the timestamp of the same item)")
        query: Any = self._db.collection("conversations")
        if user_id is not None:
            query = query.where(filter=FieldFilter("userId", "==", user_id))
        if before is not None:
            query = query.where(filter=FieldFilter("sortKey", "<", c.sort_key(before, before_id)))
        query = query.order_by("sortKey", direction=firestore.Query.DESCENDING)
        query = query.select(SUMMARY_FIELDS).limit(limit)
        async with self._guard():
            docs = [snap.to_dict() async for snap in query.stream()]
        return [ConversationSummary(**summary_fields(d)) for d in docs if d is not None]

    # Users (their records and usage in `_firestore_users`)

    def _user(self, id: str) -> AsyncDocumentReference:
        return self._db.collection("users").document(c.check_id(id, "user id"))

    # Persona

    def _persona(self) -> AsyncDocumentReference:
        return self._db.collection("config").document("persona")

    async def get_persona(self) -> PersonaConfig | None:
        async with self._guard():
            snap = await self._persona().get()
        data = snap.to_dict() if snap.exists else None
        return None if data is None else persona_model(data)

    async def put_persona(
        self, config: PersonaConfig, *, expected_version: int | None
    ) -> PersonaConfig:
        config.check_model()
        for _ in range(_PERSONA_RETRIES):
            current = await self.get_persona()
            version = current.version if current else 0
            if expected_version is not None and expected_version != version:
                raise VersionConflict(
                    f"persona is at version {version}, the edit started from {expected_version}"
                )
            saved = config.model_copy(
                update={"version": version + 1, "updated_at": dt.datetime.now(c.UTC)}
            )
            body = persona_doc(saved)
            batch = self._db.batch()
            # Creating the version document first is the compare-and-set: of two saves
            # from the same version, only one create succeeds.
            batch.create(
                self._persona().collection("versions").document(f"{saved.version:06d}"), body
            )
            batch.set(self._persona(), body)
            async with self._guard():
                try:
                    await batch.commit()
                except gexc.AlreadyExists:
                    if expected_version is not None:
                        raise VersionConflict(f"persona version {saved.version} exists") from None
                    continue  # unconditional save: re-read and go again
            return saved
        raise VersionConflict("persona kept changing; gave up")

    # Retention and lifecycle

    async def delete_conversations_before(self, at: dt.datetime) -> int:
        query = (
            self._db.collection("conversations")
            .where(filter=FieldFilter("timestamp", "<", c.utc(at)))
            .select(["userId"])
        )
        return len(await self._delete_conversations(query))

    async def ping(self) -> None:
        async with self._guard():
            await self._persona().get()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # The async client has no public close; its gRPC channel is created lazily.
        api = self._db._firestore_api_internal
        if api is not None:
            await api.transport.close()
