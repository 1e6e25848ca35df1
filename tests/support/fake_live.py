"""A scripted Live endpoint (plain ws on 127.0.0.1) for the bridge's native avatar paths:
each connection follows the next `Plan`, and every setup it received is kept."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


@dataclass(frozen=True)
class Plan:
    """`refuse`: close with this code at setup. Otherwise answer `setupComplete`, send
    `messages` (dicts, as binary frames, as the service does), then close with `close`
    if given, else stay open."""

    refuse: int | None = None
    messages: tuple[dict[str, Any], ...] = ()
    close: int | None = None


@dataclass
class FakeLive:
    plans: list[Plan]
    setups: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    _connections: int = 0

    async def _serve(self, ws: ServerConnection) -> None:
        setup = json.loads(await ws.recv())["setup"]
        self.setups.append(setup)
        plan = self.plans[min(self._connections, len(self.plans) - 1)]
        self._connections += 1
        if plan.refuse is not None:
            await ws.close(plan.refuse, "refused by the script")
            return
        await ws.send(json.dumps({"setupComplete": {}}).encode())
        for message in plan.messages:
            await ws.send(json.dumps(message).encode())
        if plan.close is not None:
            await ws.close(plan.close, "closed by the script")
            return
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass


@contextlib.asynccontextmanager
async def fake_live(plans: list[Plan]) -> AsyncIterator[FakeLive]:
    live = FakeLive(plans)
    async with serve(live._serve, "127.0.0.1", 0, max_size=2**24) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        live.url = f"http://127.0.0.1:{port}"
        yield live


def media(data: bytes) -> dict[str, Any]:
    part = {"inlineData": {"mimeType": "video/mp4", "data": base64.b64encode(data).decode()}}
    return {"serverContent": {"modelTurn": {"parts": [part]}}}


def said(text: str) -> dict[str, Any]:
    return {"serverContent": {"outputTranscription": {"text": text}}}


TURN_COMPLETE: dict[str, Any] = {"serverContent": {"turnComplete": True}}
INTERRUPTED: dict[str, Any] = {"serverContent": {"interrupted": True}}
