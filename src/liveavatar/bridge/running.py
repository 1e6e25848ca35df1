"""The sessions running on this instance, by id, so that a resume takes over a live one.

A page that lost its network reconnects at once, while the backend may hold the old
socket for up to a minute before it notices. Two sessions on one conversation would both
record turns under the same turn numbers; so the newer connection asks the older one to
end (close 4409) and waits for its teardown (which records its turn in progress) before
it counts the turns so far and picks up the Live handle.

Each entry also knows its user, so that one task for the instance (`blocks.py`) can end
the sessions of a user an admin blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class RunningSession:
    """One running session's entry: `replaced` is set when a newer connection takes over,
    `blocked` when its user was blocked."""

    uid: str = ""
    replaced: asyncio.Event = field(default_factory=asyncio.Event)
    blocked: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class RunningSessions:
    """Running sessions by id (one instance's; bounded by the sessions it serves)."""

    def __init__(self) -> None:
        self._running: dict[str, RunningSession] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def take_over(self, session_id: str, timeout_s: float) -> None:
        """Ask the session running as `session_id`, if any, to end; wait (bounded) until
        it has finished its teardown."""
        entry = self._running.get(session_id)
        if entry is None:
            return
        entry.replaced.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await entry.ended.wait()

    def register(self, session_id: str, uid: str = "") -> RunningSession:
        """Enter a session of user `uid` that now runs as `session_id`; `unregister` it at
        its end."""
        entry = RunningSession(uid)
        self._running[session_id] = entry
        return entry

    def users(self) -> set[str]:
        """The users with a session running here."""
        return {entry.uid for entry in self._running.values() if entry.uid}

    def block(self, uid: str) -> int:
        """Ask every session of `uid` to end as forbidden; how many were asked."""
        asked = 0
        for entry in self._running.values():
            if entry.uid == uid and not entry.blocked.is_set():
                entry.blocked.set()
                asked += 1
        return asked

    def unregister(self, session_id: str, entry: RunningSession) -> None:
        """The session's teardown is done (only its own entry is removed)."""
        entry.ended.set()
        if self._running.get(session_id) is entry:
            del self._running[session_id]
