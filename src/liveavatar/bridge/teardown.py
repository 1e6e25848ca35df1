"""How a session's teardown runs: each step on its own, and to its end even when the
session is cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any

logger = logging.getLogger(__name__)


async def step(what: str, action: Awaitable[object]) -> None:
    """Run one teardown step; a step that fails is logged and the next one still runs."""
    try:
        await action
    except Exception:
        logger.exception("teardown step failed", extra={"step": what})


async def run_to_end(teardown: Coroutine[Any, Any, None], *, name: str, timeout_s: float) -> None:
    """Run `teardown` in its own task so that cancelling the session (server shutdown)
    cannot stop it halfway; a cancelled caller still waits for it, bounded."""
    task = asyncio.create_task(teardown, name=name)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task], timeout=timeout_s)
        raise


def first(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first leaf exception of a (nested) group."""
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    assert isinstance(exc, Exception)
    return exc
