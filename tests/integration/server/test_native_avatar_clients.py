"""The native avatar through every Live client against the emulator: the persona's avatar
reaches the page as media frames (the init segment first), whichever client carries it.
The emulator serves avatars on its Vertex route alone, as Live does (§14.1), and the
backend goes there for avatar connections (`live/endpoint.py`, `live/openers.py`)."""

from __future__ import annotations

import json

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.store import PersonaConfig
from liveavatar.store.sqlite import DB_FILENAME, SQLiteStore
from tests.support.browser import browser, count

from .conftest import StartBackend, backend_settings
from .test_native_avatar import media_payloads


@pytest.mark.parametrize("client", ["picows", "raw", "sdk"])
async def test_every_live_client_carries_the_avatar(
    emulator: EmulatorServer, start_backend: StartBackend, client: str
) -> None:
    settings = backend_settings(emulator, live_client=client, persona_cache_s=0)
    store = SQLiteStore(settings.data_dir / DB_FILENAME)
    try:
        config = PersonaConfig(
            name="Ava",
            model="gemini-3.8-live",
            voice="Puck",
            avatar_mode="native",
            native_avatar="Kira",
        )
        await store.put_persona(config, expected_version=None)
    finally:
        await store.close()
    backend = await start_backend(settings)
    async with browser(backend.ws_url, hello={"type": "hello", "version": 2}) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("turn_complete")(log) == 1)
        await log.wait_for(lambda log: len(media_payloads(log)) > 1000)
    assert log.messages("ready")[0]["avatar_mode"] == "native"
    assert not log.messages("avatar_fallback")
    media = media_payloads(log)
    assert media[4:8] == b"ftyp" and b"moov" in media[:4096] and b"moof" in media
    assert not [f for f in log.frames if isinstance(f, bytes) and len(f) % 2 == 0]  # no PCM
    assert log.final("model")
