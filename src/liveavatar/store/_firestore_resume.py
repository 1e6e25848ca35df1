"""Resumption entries on Firestore: `resumptions/{session id}` with the owner's digest,
the holder, the latest handle and `expiresAt`, a timestamp that is also the collection's
TTL field (`deploy/deploy.sh` sets the policy), so Firestore deletes expired entries
itself; `purge_resumptions` does it at once where no policy runs (the emulator).

A handle write reads the entry and updates it only while `holder` still holds it, in one
transaction, so a claim by another instance cannot land between the read and the write:
Firestore retries the transaction, which then sees the new holder and writes nothing. (The
local Firestore stand-in runs transactions without isolation; there the race stays
possible, and is harmless: the new holder's next handle replaces the older one.)

Mixed into `FirestoreStore`, whose module is long enough already (`_sqlite_resume.py` is
SQLite's).
"""

from __future__ import annotations

import contextlib
import datetime as dt

from google.cloud.firestore import (
    AsyncClient,
    AsyncDocumentReference,
    AsyncTransaction,
    FieldFilter,
    async_transactional,
)

from liveavatar.store import _common as c
from liveavatar.store.base import StoreError
from liveavatar.store.models import ResumeState

RESUMPTIONS = "resumptions"
TTL_FIELD = "expiresAt"
_PURGE_CHUNK = 400  # documents per batch (a batch takes at most 500 writes)


class FirestoreResume:
    """`Store`'s resumption methods on Firestore (mixed into `FirestoreStore`)."""

    _db: AsyncClient

    def _guard(self) -> contextlib.AbstractAsyncContextManager[None]:
        raise NotImplementedError  # the store's own

    def _resumption(self, session_id: str) -> AsyncDocumentReference:
        return self._db.collection(RESUMPTIONS).document(c.check_id(session_id, "session_id"))

    async def claim_resumption(self, state: ResumeState) -> None:
        """Write the session's whole entry, replacing any."""
        doc = {
            "ownerDigest": state.owner_digest,
            "holder": state.holder,
            "handle": state.handle,
            TTL_FIELD: c.utc(state.expires_at),
        }
        async with self._guard():
            await self._resumption(state.session_id).set(doc)

    async def get_resumption(self, session_id: str, now: dt.datetime) -> ResumeState | None:
        """The session's entry unless missing or expired by `now` (TTL deletion lags)."""
        async with self._guard():
            snap = await self._resumption(session_id).get()
        doc = snap.to_dict() if snap.exists else None
        if doc is None or c.utc(doc[TTL_FIELD]) <= c.utc(now):
            return None
        return ResumeState(
            session_id=session_id,
            owner_digest=doc["ownerDigest"],
            holder=doc["holder"],
            handle=doc.get("handle"),
            expires_at=c.utc(doc[TTL_FIELD]),
        )

    async def put_resumption_handle(
        self, session_id: str, holder: str, handle: str, expires_at: dt.datetime
    ) -> bool:
        """The newest handle, if `holder` still holds the entry (read and update in one
        transaction)."""
        ref = self._resumption(session_id)
        fields = {"handle": handle, TTL_FIELD: c.utc(expires_at)}
        async with self._guard():
            return await _put_if_held(self._db.transaction(), ref, holder, fields)

    async def purge_resumptions(self, now: dt.datetime) -> int:
        """Delete the entries expired by `now`, in batches; how many."""
        query = (
            self._db.collection(RESUMPTIONS)
            .where(filter=FieldFilter(TTL_FIELD, "<=", c.utc(now)))
            .select([TTL_FIELD])
            .limit(_PURGE_CHUNK)
        )
        deleted = 0
        previous: set[str] = set()
        while True:
            async with self._guard():
                refs = [s.reference async for s in query.stream()]
            if not refs:
                return deleted
            if previous & (ids := {r.id for r in refs}):
                # A server that ignored the deletes must not keep this loop going forever.
                raise StoreError("firestore: deleted documents reappeared; stopping")
            batch = self._db.batch()
            for ref in refs:
                batch.delete(ref)
            async with self._guard():
                await batch.commit()
            deleted += len(refs)
            previous = ids


@async_transactional
async def _put_if_held(
    transaction: AsyncTransaction,
    ref: AsyncDocumentReference,
    holder: str,
    fields: dict[str, object],
) -> bool:
    snap = await ref.get(["holder"], transaction=transaction)
    if not snap.exists or (snap.to_dict() or {}).get("holder") != holder:
        return False
    transaction.update(ref, fields)
    return True
