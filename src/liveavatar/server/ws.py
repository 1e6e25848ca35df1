"""The browser WebSocket route: check the origin and the room left, accept, hand over to a
BridgeSession.

A plain ASGI endpoint rather than a FastAPI route: the session keeps the socket's own
`receive` and `send` for its frames (`bridge/browser_wire.py`), beside the Starlette
`WebSocket` built on them for the handshake and the close.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send

from liveavatar.bridge.browser_wire import BrowserWire
from liveavatar.bridge.session import BridgeSession
from liveavatar.errors import CLOSE_POLICY, CLOSE_TRY_AGAIN

# The close reason a full instance gives; the page retries 1013 with backoff.
FULL_REASON = "server busy; retry in a few seconds"


class BrowserSocket:
    """The `/ws` endpoint (ASGI)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await browser_socket(BrowserWire(WebSocket(scope, receive, send), receive, send))


async def browser_socket(wire: BrowserWire) -> None:
    ws = wire.ws
    state = ws.app.state.live
    origin = ws.headers.get("origin")
    allowed = state.settings.allowed_origins
    if origin is not None and "*" not in allowed and origin not in allowed:
        await ws.close(CLOSE_POLICY)  # before accept: the browser sees a refused upgrade
        return
    ticket = None
    if not state.deps.shutting_down.is_set() and len(state.sessions) < state.settings.max_sessions:
        ticket = state.capacity.enter()
    if ticket is None:
        # Accept, then close with 1013: a refused upgrade would reach the page as HTTP 403,
        # which it cannot tell from "forbidden"; 1013 means "full, try again".
        with contextlib.suppress(Exception):
            await ws.accept()
            await ws.close(CLOSE_TRY_AGAIN, reason=FULL_REASON)
        return
    await ws.accept()
    task = asyncio.current_task()
    assert task is not None
    state.sessions.add(task)
    try:
        client_ip = ws.client.host if ws.client else "unknown"
        session = BridgeSession(wire, state.deps, client_ip=client_ip, hello_ticket=ticket)
        await session.run()
    finally:
        ticket.done()
        state.sessions.discard(task)


router = APIRouter()
router.routes.append(WebSocketRoute("/ws", BrowserSocket(), name="browser_socket"))
