"""The browser socket is never compressed, whatever the client offers.

Browsers offer permessage-deflate on every WebSocket; the `websockets` client used here
offers it too by default, exactly as a browser's handshake does.
"""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from liveavatar.emulator.server import EmulatorServer
from tests.integration.server.conftest import StartBackend, backend_settings

LIMIT_S = 30.0


async def test_permessage_deflate_offered_by_the_client_is_declined(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator))
    headers = {"Origin": "http://localhost:8000"}
    async with connect(backend.ws_url, additional_headers=headers, compression="deflate") as ws:
        assert ws.request is not None and ws.response is not None
        offered = ws.request.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in offered  # the offer was made, as browsers make it
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        # The session works as usual on the uncompressed socket.
        await ws.send(json.dumps({"type": "hello", "version": 1}))
        async with asyncio.timeout(LIMIT_S):
            while json.loads(await ws.recv())["type"] != "ready":
                pass
        await ws.send(json.dumps({"type": "bye"}))
