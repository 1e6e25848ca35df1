"""A persona saved in the store (as the dashboard saves it) through the real backend and
emulator: the next session greets with its greeting in its voice, and the page's settings
endpoint says what the page must do before the microphone opens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.tts import Synthesizer, voice_for
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.browser import browser, count

GREETING = "Welcome to the museum, I am Max, your guide today"  # one sentence: one synthesis


async def save_persona(data_dir: Path, **fields: Any) -> None:
    values: dict[str, Any] = {
        "name": "Max",
        "model": "gemini-3.8-live",
        "voice": "Puck",
        "system_instruction": "You are Max, a calm guide.",
    }
    store = SQLiteStore(data_dir / DB_FILENAME)
    try:
        await store.put_persona(PersonaConfig(**{**values, **fields}), expected_version=None)
    finally:
        await store.close()


async def test_a_new_conversation_starts_with_the_greeting_in_the_personas_voice(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, persona_cache_s=0)
    backend = await start_backend(settings)
    await save_persona(settings.data_dir, voice="Charon", greeting=GREETING)
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        session_id = log.messages("ready")[0]["session_id"]
        greeting_audio = log.audio()
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    assert log.messages("ready")[0]["voice"] == "Charon"
    assert log.final("model") == [GREETING, "My name is Max."]
    assert log.final("user") == ["what is your name"]  # the request is not the user's line
    # The emulator spoke in the voice the setup asked for: its audio is Charon's rendering
    # of the greeting (the emulator's espeak voices differ in speed, so in length).
    synth = Synthesizer()
    charon = await synth.synthesize(GREETING, voice_for("Charon"))
    puck = await synth.synthesize(GREETING, voice_for("Puck"))
    assert len(greeting_audio) == len(charon) != len(puck)
    store = SQLiteStore(settings.data_dir / DB_FILENAME)
    try:
        turns = await store.get_turns(session_id)
    finally:
        await store.close()
    assert [(t.user_text, t.model_text) for t in turns] == [
        ("", GREETING),
        ("what is your name", "My name is Max."),
    ]


async def test_a_resumed_conversation_is_not_greeted_again(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, persona_cache_s=0)
    backend = await start_backend(settings)
    await save_persona(settings.data_dir, greeting="Hello again")
    async with browser(backend.ws_url) as (_ws, first):
        await first.wait_for(lambda log: count("turn_complete")(log) >= 1)
    session_id = first.messages("ready")[0]["session_id"]
    hello = {"type": "hello", "version": 1, "session_id": session_id}
    async with browser(backend.ws_url, hello=hello) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        assert log.messages("ready")[0]["resumed"] is True
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert first.final("model") == ["Hello again"]
    assert log.final("model") == ["My name is Max."]


async def test_the_page_config_follows_the_saved_persona(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(
        emulator, persona_cache_s=0, dashboard_url="http://dashboard.example:8501"
    )
    backend = await start_backend(settings)
    origin = "http://localhost:8000"
    async with httpx.AsyncClient(base_url=backend.http_url) as http:
        before = await http.get("/api/page-config", headers={"Origin": origin})
        await save_persona(
            settings.data_dir, recording=True, push_to_talk=True, avatar_mode="clips"
        )
        after = await http.get("/api/page-config")
        foreign = await http.get("/api/page-config", headers={"Origin": "http://evil.example"})
    assert before.status_code == 200
    assert before.json() == {
        "recording": False,
        "push_to_talk": False,
        "avatar_mode": "drawn",
        "dashboard_url": "http://dashboard.example:8501",
        "guests_allowed": True,  # sign-in is off: everyone is a guest
    }
    assert before.headers["access-control-allow-origin"] == origin
    assert "max-age=5" in before.headers["cache-control"]
    assert after.json() == {
        "recording": True,
        "push_to_talk": True,
        "avatar_mode": "clips",
        "dashboard_url": "http://dashboard.example:8501",
        "guests_allowed": True,  # sign-in is off: everyone is a guest
    }
    assert "access-control-allow-origin" not in foreign.headers
