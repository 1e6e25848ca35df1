"""A session's timed endings: its lifetime, a blocked avatar's refusal, injected faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from . import outbound
from .avatar import REASON_BLOCKED
from .config import EmulatorConfig
from .errors import INTERNAL, NORMAL, POLICY, REASON_INTERNAL, LiveCloseError

logger = logging.getLogger(__name__)

# A blocked avatar reference image is refused this long after setupComplete, when the
# avatar would start to animate (reference §14.5), or at the first reply if that is sooner.
AVATAR_BLOCK_AFTER_S = 1.0

Send = Callable[[dict[str, Any] | str], Awaitable[None]]


async def lifetime(config: EmulatorConfig, send: Send, stalled: asyncio.Event) -> None:
    """`goAway` before the connection's lifetime ends, then the close (1000)."""
    life = config.connection_lifetime_s
    notice = min(config.goaway_notice_s, life / 2)
    await asyncio.sleep(life - notice)
    await send(outbound.go_away(notice))
    await asyncio.sleep(notice)
    if stalled.is_set():
        await asyncio.Future()
    raise LiveCloseError(NORMAL, "Connection lifetime reached.")


async def refuse_avatar() -> None:
    await asyncio.sleep(AVATAR_BLOCK_AFTER_S)
    raise LiveCloseError(POLICY, REASON_BLOCKED)


async def fault_close(after_s: float, streaming: asyncio.Event) -> None:
    """Injected: 1011 at the first moment a reply streams once `after_s` have passed."""
    await asyncio.sleep(after_s)
    await streaming.wait()
    raise LiveCloseError(INTERNAL, REASON_INTERNAL)


async def fault_stall(after_s: float, stalled: asyncio.Event) -> None:
    """Injected: after `after_s`, the session stops reading and sending."""
    await asyncio.sleep(after_s)
    logger.info("fault injection: stalling the connection")
    stalled.set()
