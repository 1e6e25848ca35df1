"""Resumption entries in the SQLite file (schema v5), shared by every process that opens
it: one row per session, written whole on a claim and by one conditional UPDATE per
handle, so a handle write from a connection that was taken over changes nothing.

Mixed into `SQLiteStore`, whose module is long enough already (`_firestore_resume.py` is
Firestore's).
"""

from __future__ import annotations

import datetime as dt

from liveavatar.store import _common as c
from liveavatar.store._sqlite_worker import Worker, execute_tx
from liveavatar.store.models import ResumeState

_CLAIM = (
    "INSERT INTO resumptions (session_id, owner_digest, holder, handle, expires_us)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
    " owner_digest = excluded.owner_digest, holder = excluded.holder,"
    " handle = excluded.handle, expires_us = excluded.expires_us"
)
_PUT_HANDLE = (
    "UPDATE resumptions SET handle = ?, expires_us = ? WHERE session_id = ? AND holder = ?"
)
_GET = (
    "SELECT owner_digest, holder, handle, expires_us FROM resumptions"
    " WHERE session_id = ? AND expires_us > ?"
)
_PURGE = "DELETE FROM resumptions WHERE expires_us <= ?"


class SQLiteResume:
    """`Store`'s resumption methods on the SQLite file (mixed into `SQLiteStore`)."""

    _writer: Worker
    _reader: Worker

    async def claim_resumption(self, state: ResumeState) -> None:
        """Write the session's whole entry, replacing any."""
        args = (
            c.check_id(state.session_id, "session_id"),
            state.owner_digest,
            state.holder,
            state.handle,
            c.to_us(state.expires_at),
        )
        await self._writer.call(execute_tx(_CLAIM, args))

    async def get_resumption(self, session_id: str, now: dt.datetime) -> ResumeState | None:
        """The session's entry unless missing or expired by `now`."""
        args = (c.check_id(session_id, "session_id"), c.to_us(now))
        row = await self._reader.call(lambda db: db.execute(_GET, args).fetchone())
        if row is None:
            return None
        return ResumeState(
            session_id=session_id,
            owner_digest=row[0],
            holder=row[1],
            handle=row[2],
            expires_at=c.from_us(row[3]),
        )

    async def put_resumption_handle(
        self, session_id: str, holder: str, handle: str, expires_at: dt.datetime
    ) -> bool:
        """The newest handle, if `holder` still holds the entry (one conditional UPDATE)."""
        args = (handle, c.to_us(expires_at), c.check_id(session_id, "session_id"), holder)
        return await self._writer.call(execute_tx(_PUT_HANDLE, args)) > 0

    async def purge_resumptions(self, now: dt.datetime) -> int:
        """Delete the entries expired by `now`; how many."""
        return await self._writer.call(execute_tx(_PURGE, (c.to_us(now),)))
