"""Resumption state by browser session id, in the store: who owns each session, which
connection holds it, and its latest Live handle. Any instance sharing the store resumes any
session; entries expire with the handles (2 h after the latest).

The owner key is stored only as a digest (an anonymous user's key holds their browser's
secret) and compared in constant time. A store that does not answer costs resumption,
never the conversation: the page then starts a new session (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from liveavatar.store import ResumeState, Store, StoreError

from .handle_sync import HandleSync

logger = logging.getLogger(__name__)

HANDLE_TTL = dt.timedelta(hours=2)  # how long Live accepts a resumption handle
PURGE_EVERY_S = 3600.0


class Lookup(Enum):
    """Why a resume found nothing to resume."""

    UNKNOWN = "unknown"  # never issued, expired, or the store did not answer
    FOREIGN = "foreign"  # issued to someone else


@dataclass(frozen=True)
class Resumable:
    """A session the caller owns: its latest Live handle (None before the first one)."""

    handle: str | None


def owner_digest(owner: str) -> str:
    """What the store keeps instead of the owner key."""
    return hashlib.sha256(b"liveavatar-owner\0" + owner.encode("utf-8")).hexdigest()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class HandleDirectory:
    """One instance's door to the resumption entries in the store."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: dt.timedelta = HANDLE_TTL,
        check_every_s: float = 10.0,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._check_every_s = check_every_s
        self._clock = clock
        self._purged_at = float("-inf")
        self._purging: set[asyncio.Task[None]] = set()

    async def lookup(self, session_id: str, owner: str) -> Resumable | Lookup:
        """The session's resumption state if `owner` owns it."""
        try:
            entry = await self._store.get_resumption(session_id, self._clock())
        except StoreError:
            logger.warning("resumption state unavailable; the session starts afresh")
            return Lookup.UNKNOWN
        if entry is None:
            return Lookup.UNKNOWN
        if not hmac.compare_digest(entry.owner_digest, owner_digest(owner)):
            return Lookup.FOREIGN
        return Resumable(entry.handle)

    async def claim(self, session_id: str, owner: str, handle: str | None) -> HandleSync:
        """Record `owner` as the session's owner and this connection as its holder (which
        ends a holder elsewhere at its next write or check); its handle writer."""
        state = ResumeState(
            session_id=session_id,
            owner_digest=owner_digest(owner),
            holder=secrets.token_urlsafe(12),
            handle=handle,
            expires_at=self._clock() + self._ttl,
        )
        sync = HandleSync(self._store, state, self._ttl, self._check_every_s, self._clock)
        await sync.claim()
        self._maybe_purge()
        return sync

    def _maybe_purge(self) -> None:
        """Now and then (not per session), delete expired entries in the background."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._purged_at < PURGE_EVERY_S:
            return
        self._purged_at = loop.time()
        task = loop.create_task(self._purge(), name="resumptions-purge")
        self._purging.add(task)
        task.add_done_callback(self._purging.discard)

    async def _purge(self) -> None:
        try:
            purged = await self._store.purge_resumptions(self._clock())
        except StoreError:
            logger.warning("could not purge expired resumption entries")
            return
        logger.info("expired resumption entries purged", extra={"purged": purged})
