"""Resumption state by browser session id: the owner and the latest Live handle."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum


class Lookup(Enum):
    """Why a resume found nothing to resume."""

    UNKNOWN = "unknown"  # never issued here, or expired
    FOREIGN = "foreign"  # issued to someone else


@dataclass(frozen=True)
class Resumable:
    """A session the caller owns: its latest Live handle (None before the first one)."""

    handle: str | None


class HandleDirectory:
    """Who owns each session and its latest Live resumption handle. Bounded; entries
    expire with the handles (2 h). In memory: a page resumes on the instance it was
    connected to."""

    def __init__(self, max_entries: int = 10_000, ttl_s: float = 7200.0) -> None:
        self._entries: dict[str, tuple[float, str, str | None]] = {}
        self._max = max_entries
        self._ttl = ttl_s

    def claim(self, session_id: str, owner: str, now: float) -> None:
        """Record `owner` as the session's owner (at admission, before any handle)."""
        entry = self._entries.pop(session_id, None)
        handle = entry[2] if entry is not None and entry[1] == owner else None
        self._set(session_id, owner, handle, now)

    def put(self, session_id: str, handle: str, now: float) -> None:
        """Remember the newest handle of a claimed session (unclaimed ids are ignored)."""
        entry = self._entries.pop(session_id, None)
        if entry is not None:
            self._set(session_id, entry[1], handle, now)

    def lookup(self, session_id: str, owner: str, now: float) -> Resumable | Lookup:
        """The session's resumption state if `owner` owns it."""
        entry = self._entries.get(session_id)
        if entry is None or entry[0] < now:
            return Lookup.UNKNOWN
        # Constant time: the owner key of an anonymous user includes a browser secret.
        if not hmac.compare_digest(entry[1].encode(), owner.encode()):
            return Lookup.FOREIGN
        return Resumable(entry[2])

    def _set(self, session_id: str, owner: str, handle: str | None, now: float) -> None:
        self._entries[session_id] = (now + self._ttl, owner, handle)
        while len(self._entries) > self._max:
            del self._entries[next(iter(self._entries))]
