"""What the emulated model sends before a reply: a thinking model's thought (it thinks
first, reference §13.4) and a searched answer's `groundingMetadata` (the pages, then the
answer, §13.3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from . import outbound
from .brain import Decision, Speak
from .resumption import Conversation
from .search import SearchAnswer
from .usage import Reply, thought


async def prelude(
    send: Callable[[dict[str, Any]], Awaitable[None]],
    decision: Decision | SearchAnswer,
    conv: Conversation,
    *,
    thinks: bool,
) -> tuple[Decision, Reply]:
    """What goes out before a reply: a thinking model's thought (it thinks first, §13.4),
    a searched answer's `groundingMetadata` (the pages, then the answer, §13.3). Returns
    the reply to make and its report so far."""
    reply = Reply()
    if thinks:
        heard = next((t.text for t in reversed(conv.history) if t.role == "user"), "")
        reply.thoughts = thought(heard)
        await send(outbound.thought(reply.thoughts))
    if isinstance(decision, SearchAnswer):
        await send(outbound.grounding(decision.metadata))
        reply.tool_use_tokens = decision.tool_use_tokens
        return Speak(decision.text), reply
    return decision, reply
