"""Live resumption handles by browser session id, so a reconnecting page resumes."""

from __future__ import annotations


class HandleDirectory:
    """Latest Live resumption handle per browser session id. Bounded; entries expire with
    the handles (2 h). In memory: a page resumes on the instance it was connected to."""

    def __init__(self, max_entries: int = 10_000, ttl_s: float = 7200.0) -> None:
        self._entries: dict[str, tuple[float, str]] = {}
        self._max = max_entries
        self._ttl = ttl_s

    def put(self, session_id: str, handle: str, now: float) -> None:
        self._entries.pop(session_id, None)
        self._entries[session_id] = (now + self._ttl, handle)
        while len(self._entries) > self._max:
            del self._entries[next(iter(self._entries))]

    def get(self, session_id: str, now: float) -> str | None:
        entry = self._entries.get(session_id)
        if entry is None or entry[0] < now:
            return None
        return entry[1]
