"""The browser WebSocket route: check the origin, accept, hand over to a BridgeSession."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket

from liveavatar.bridge.session import BridgeSession
from liveavatar.errors import CLOSE_POLICY, CLOSE_TRY_AGAIN

router = APIRouter()


@router.websocket("/ws")
async def browser_socket(ws: WebSocket) -> None:
    state = ws.app.state.live
    origin = ws.headers.get("origin")
    allowed = state.settings.allowed_origins
    if origin is not None and "*" not in allowed and origin not in allowed:
        await ws.close(CLOSE_POLICY)  # before accept: the browser sees a refused upgrade
        return
    if state.deps.shutting_down.is_set() or len(state.sessions) >= state.settings.max_sessions:
        await ws.close(CLOSE_TRY_AGAIN)
        return
    await ws.accept()
    task = asyncio.current_task()
    assert task is not None
    state.sessions.add(task)
    try:
        client_ip = ws.client.host if ws.client else "unknown"
        await BridgeSession(ws, state.deps, client_ip=client_ip).run()
    finally:
        state.sessions.discard(task)
