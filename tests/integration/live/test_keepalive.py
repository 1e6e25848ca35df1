"""Every Live client notices a far end that stopped (no pongs) and end `Closed(stalled=True)`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.genai import types
from websockets.asyncio.server import ServerConnection, serve

from liveavatar.emulator.tls import client_context, ensure_certificate, server_context
from liveavatar.live.connection import LiveChannel, LiveConnection
from liveavatar.live.events import Closed, LiveEvent
from liveavatar.live.picows_client import PicowsLiveConnection
from liveavatar.live.raw import Endpoint, RawLiveConnection
from liveavatar.live.sdk_client import build_client
from liveavatar.settings import Settings

KEEPALIVE_S = 0.2


@pytest.fixture
async def frozen_live(cert_dir: Path) -> AsyncIterator[int]:
    """A TLS WebSocket server that completes setup, then stops reading, like a stopped
    process: pings are never read, so never answered. Yields its port."""
    ensure_certificate(cert_dir)
    release = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        await ws.send('{"setupComplete": {}}')
        ws.transport.pause_reading()
        await release.wait()
        ws.transport.abort()  # it never reads a close frame: dropped, not closed politely

    async with serve(
        handler, "127.0.0.1", 0, ssl=server_context(cert_dir), ping_interval=None
    ) as server:
        yield int(server.sockets[0].getsockname()[1])
        release.set()


async def last_event(conn: LiveChannel) -> LiveEvent:
    events: list[LiveEvent] = []
    try:
        async with asyncio.timeout(20):
            events = [event async for event in conn.events()]
    finally:
        await conn.close()
    return events[-1]


@pytest.mark.parametrize("own", [RawLiveConnection, PicowsLiveConnection])
async def test_our_clients_notice_a_far_end_that_stopped(
    frozen_live: int, cert_dir: Path, own: type[RawLiveConnection | PicowsLiveConnection]
) -> None:
    endpoint = Endpoint(
        url=f"wss://127.0.0.1:{frozen_live}/ws",
        headers={},
        model="models/gemini-3.8-live",
        ssl=client_context(cert_dir),
        vertex=False,
    )
    conn = await own.open(endpoint, {}, keepalive_s=KEEPALIVE_S)
    closed = await last_event(conn)
    assert isinstance(closed, Closed) and closed.stalled


async def test_the_sdk_client_notices_a_far_end_that_stopped(
    frozen_live: int, cert_dir: Path
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        live_backend="emulator",
        vertex_ai_endpoint=f"https://127.0.0.1:{frozen_live}",
        live_ca_file=cert_dir / "cert.pem",
        live_stall_timeout_s=KEEPALIVE_S,
    )
    client, _ = build_client(settings)
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    conn = await LiveConnection.open(client, "gemini-3.8-live", config)
    closed = await last_event(conn)
    assert isinstance(closed, Closed) and closed.stalled
