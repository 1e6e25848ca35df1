"""Blocked users: the running sessions of a user an admin blocked end within seconds.

The dashboard blocks a user by writing `User.blocked` to the store, from another process,
so nothing tells this instance. One task per instance (not one per session) reads, every
`interval_s`, the store's record of each user with a session running here, and ends their
sessions with `forbidden` (4403). A store that fails or is slow costs only that round:
the sessions go on and the next round asks again. A new `hello` of a blocked user is
refused at admission (`auth.gate.StoreUsers`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from liveavatar.store import User

from .running import RunningSessions

logger = logging.getLogger(__name__)

READ_TIMEOUT_S = 2.0  # one user's record; a slower store ends the round


class UserReader(Protocol):
    async def get_user(self, id: str) -> User | None: ...


class BlockWatch:
    """Ends the running sessions of blocked users (call `run` in one owned task)."""

    def __init__(
        self,
        users: UserReader,
        running: RunningSessions,
        *,
        interval_s: float,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        self._users = users
        self._running = running
        self._interval_s = interval_s
        self._read_timeout_s = read_timeout_s
        self._failing = False

    async def run(self) -> None:
        """Check every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check()

    async def check(self) -> int:
        """One round: end the sessions of every blocked user running here; how many
        sessions were asked to end. Never raises for a store problem."""
        ended = 0
        for uid in sorted(self._running.users()):
            try:
                async with asyncio.timeout(self._read_timeout_s):
                    user = await self._users.get_user(uid)
            except Exception as exc:
                # Said once per outage, not once per round: the log must stay readable.
                if not self._failing:
                    logger.warning("could not check for blocked users", extra={"error": repr(exc)})
                self._failing = True
                return ended
            if user is not None and user.blocked:
                asked = self._running.block(uid)
                if asked:
                    logger.info("ending a blocked user's sessions", extra={"sessions": asked})
                ended += asked
        if self._failing:
            logger.info("checking for blocked users again")
        self._failing = False
        return ended
