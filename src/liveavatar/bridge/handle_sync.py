"""One session's resumption entry kept current from the audio path without waiting on it.

Live sends a new handle after every turn (and at other moments); each must reach the store
so that another instance resumes from the newest. `put` only records the handle (latest
wins, O(1)); one writer task stores it, one small write at a time, so a slow store delays
handles, never audio, and a backlog is one handle. The same task notices a take-over: a
write refused because another connection holds the entry now, or, between writes, a
periodic read of the holder. A store that fails is retried at the next handle.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from liveavatar.store import ResumeState, Store, StoreError

logger = logging.getLogger(__name__)

FLUSH_TIMEOUT_S = 2.0


class HandleSync:
    """The latest handle of one session on its way to the store; `run` returns once
    another connection has taken the session over."""

    def __init__(
        self,
        store: Store,
        state: ResumeState,
        ttl: dt.timedelta,
        check_every_s: float,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._store = store
        self._state = state
        self._ttl = ttl
        self._check_every_s = check_every_s
        self._clock = clock
        self._pending: str | None = None
        self._wake = asyncio.Event()
        self._claimed = False
        self._lock = asyncio.Lock()  # one write at a time: the writer's, or the flush

    @property
    def holder(self) -> str:
        return self._state.holder

    def put(self, handle: str) -> None:
        """Remember `handle` as the newest; never waits."""
        self._pending = handle
        self._wake.set()

    async def claim(self) -> None:
        """Write the whole entry (a failed claim is tried again at the next handle)."""
        try:
            await self._store.claim_resumption(self._state)
            self._claimed = True
        except StoreError:
            logger.warning("could not store the resumption state; retried at the next handle")

    async def run(self) -> None:
        """Store each newest handle; return when the session was taken over."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._check_every_s):
                    await self._wake.wait()
            self._wake.clear()
            written = await self._write_pending()
            if written is False or (written is None and await self._taken_over()):
                return

    async def flush(self) -> None:
        """Store the handle not yet written (at the session's end), bounded in time."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_TIMEOUT_S):
                await self._write_pending()

    async def _write_pending(self) -> bool | None:
        """Write the pending handle: True if stored, False if another connection holds the
        entry, None if there was nothing to write or the store failed."""
        async with self._lock:
            handle, self._pending = self._pending, None
            if handle is None:
                return None
            expires = self._clock() + self._ttl
            self._state = self._state.model_copy(update={"handle": handle, "expires_at": expires})
            try:
                if not self._claimed:
                    await self.claim()
                    return True if self._claimed else None
                stored = await self._store.put_resumption_handle(
                    self._state.session_id, self.holder, handle, expires
                )
                if stored:
                    return True
                entry = await self._store.get_resumption(self._state.session_id, self._clock())
            except StoreError:
                logger.warning("could not store the newest resumption handle")
                return None
            except asyncio.CancelledError:
                # The session ended mid-write: leave the handle for `flush` unless a newer
                # one came meanwhile.
                if self._pending is None:
                    self._pending = handle
                raise
            if entry is None:
                # Expired or purged under a long-quiet session: still ours, so write it again.
                await self.claim()
                return True if self._claimed else None
            return False

    async def _taken_over(self) -> bool:
        """Whether another connection holds the entry now (a store failure says no)."""
        if not self._claimed:
            return False
        try:
            entry = await self._store.get_resumption(self._state.session_id, self._clock())
        except StoreError:
            return False
        return entry is not None and entry.holder != self.holder
