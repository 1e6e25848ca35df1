"""Writing to the browser's socket as the session ends: a message sent at once, and the
close; a browser already gone is never an error here (the writer task's frames go
through `browser_wire.py`)."""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from liveavatar import protocol as p

CLOSE_TIMEOUT_S = 2.0


async def send_now(ws: WebSocket, message: p.ServerMessage) -> None:
    """Send one message ahead of the outbox (bounded), if the socket is still open."""
    if ws.client_state != WebSocketState.CONNECTED:
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.send_text(message.model_dump_json())
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        pass


async def close_socket(ws: WebSocket, code: int, reason: str | None) -> None:
    if ws.client_state != WebSocketState.CONNECTED:
        return
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close(code, reason=reason)
    except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        # The browser closed first (the page's Stop sends bye and closes at once), or
        # the network is gone: either way the socket is done.
        pass
