"""Conversation state kept under resumption handles, valid for a while after a session."""

from __future__ import annotations

import copy
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Turn:
    role: str  # "user", "model", or "tool" (a NON_BLOCKING call's SILENT answer)
    text: str
    audio_s: float = 0.0  # how long it was spoken; 0: typed, seeded or written


@dataclass
class Conversation:
    """What a resumed connection continues: the model, the persona and the history
    (with the frames seen, which the context's token count includes)."""

    model: str
    instruction: str = ""
    history: list[Turn] = field(default_factory=list)
    frames: int = 0


class ResumptionStore:
    """Maps handles to snapshots of a conversation; bounded in size and age.

    Each snapshot is copied when stored, so a handle always restores the state as it was
    when the handle was issued (between turns), whatever the live session does next.
    """

    def __init__(
        self,
        ttl_s: float = 7200.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()

    def issue(self, conversation: Conversation) -> str:
        handle = "la-" + secrets.token_urlsafe(24)
        snapshot = copy.deepcopy(conversation)
        self._entries[handle] = (self._clock() + self._ttl, snapshot)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return handle

    def restore(self, handle: str) -> Conversation | None:
        """The conversation behind a live handle, or None if unknown or expired."""
        entry = self._entries.get(handle)
        if entry is None:
            return None
        expires, snap = entry
        if expires < self._clock():
            del self._entries[handle]
            return None
        return copy.deepcopy(snap)
