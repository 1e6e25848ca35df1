"""What ends a session from outside its conversation: server shutdown, the socket's age,
the session resumed elsewhere, the account blocked. Each watchdog waits, then raises."""

from __future__ import annotations

import asyncio
import contextlib
from typing import NoReturn

from liveavatar.errors import (
    CLOSE_RECONNECT,
    CLOSE_REPLACED,
    REASON_DRAINING,
    REASON_SOCKET_AGE,
    Forbidden,
)

from .handle_sync import HandleSync
from .outbox import Outbox
from .running import RunningSession
from .turns import TurnTracker


class SessionEnded(Exception):
    """The session ends on purpose (bye, shutdown, its age) with this close code."""

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason


async def watch_shutdown(shutting_down: asyncio.Event) -> NoReturn:
    """End at once when the server drains, not at a turn boundary: it has seconds left."""
    await shutting_down.wait()
    raise SessionEnded(CLOSE_RECONNECT, REASON_DRAINING)


async def watch_age(
    max_age_s: float,
    close_wait_s: float,
    turns: TurnTracker,
    turn_ended: asyncio.Event,
    outbox: Outbox,
) -> NoReturn:
    """End the socket before the platform cuts it (its request timeout), between two
    turns when one comes within `close_wait_s`, and after the answer's last audio has
    gone out: the page reconnects at once and the user hears nothing cut."""
    await asyncio.sleep(max_age_s)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(close_wait_s):
            while turns.active:
                turn_ended.clear()
                await turn_ended.wait()
            await outbox.sent()
    raise SessionEnded(CLOSE_RECONNECT, REASON_SOCKET_AGE)


async def watch_replaced(running: RunningSession) -> NoReturn:
    """End when a newer connection on this instance resumed the session."""
    await running.replaced.wait()
    raise SessionEnded(CLOSE_REPLACED)


async def sync_handles(handles: HandleSync) -> NoReturn:
    """Store the newest Live handles; end once a connection elsewhere took the session."""
    await handles.run()
    raise SessionEnded(CLOSE_REPLACED)


async def watch_blocked(running: RunningSession) -> NoReturn:
    """End when the account is blocked (set by the instance's `BlockWatch`)."""
    await running.blocked.wait()
    raise Forbidden("This account has been blocked.")
