"""The function calls of one emulated connection, open until the client answers them.

A blocking call holds its model turn: the turn waits for the answer and speaks it. A
NON_BLOCKING call outlives its turn (reference §13.2): the model says a filler and ends the
turn, a barge-in does not cancel the call, and its answer is folded in later by the
answer's `scheduling` (the session does that, with `Answer`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from .toolmatch import describe_result
from .wire import FunctionResponse, Scheduling

logger = logging.getLogger(__name__)

# What the model says while a NON_BLOCKING call runs ("Checking flight options now" [D3]).
FILLER = "One moment, let me check."


@dataclass
class PendingCall:
    """A call sent and not answered yet; `result` is what a blocking turn waits on."""

    id: str
    name: str
    non_blocking: bool
    result: asyncio.Future[dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """A NON_BLOCKING call's answer: `text` speaks it, `scheduling` says when."""

    name: str
    text: str
    scheduling: Scheduling


class Calls:
    """The open calls of one connection, by id."""

    def __init__(self) -> None:
        self._open: dict[str, PendingCall] = {}

    @property
    def in_background(self) -> bool:
        """Whether a NON_BLOCKING call is still running on the client's side."""
        return any(c.non_blocking for c in self._open.values())

    def open(self, name: str, *, non_blocking: bool) -> PendingCall:
        call = PendingCall(
            "function-call-" + secrets.token_hex(8),
            name,
            non_blocking,
            asyncio.get_running_loop().create_future(),
        )
        self._open[call.id] = call
        return call

    def forget(self, call_id: str) -> None:
        self._open.pop(call_id, None)

    def cancel_blocking(self) -> list[str]:
        """A barge-in cut the turn: its blocking calls are void (their ids, to cancel);
        NON_BLOCKING ones stay open."""
        ids = [i for i, c in self._open.items() if not c.non_blocking]
        for call_id in ids:
            self._open.pop(call_id)
        return ids

    def answer(self, fr: FunctionResponse) -> Answer | None:
        """Take one function response: a blocking call's turn gets its result (None is
        returned); a NON_BLOCKING call's answer is returned to be folded in. A response
        without an id matches an open call by name, as the service allows on Vertex."""
        call = self._open.get(fr.id or "") or next(
            (c for c in self._open.values() if not fr.id and c.name == fr.name), None
        )
        if call is None:
            logger.info("tool response for an unknown call", extra={"call_id": fr.id})
            return None
        if not call.non_blocking:
            if not call.result.done():
                call.result.set_result(fr.result())
            return None
        self._open.pop(call.id)
        return Answer(call.name, describe_result(call.name, fr.result()), fr.schedule())
