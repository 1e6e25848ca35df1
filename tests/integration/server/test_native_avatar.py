"""The native avatar through a real backend, against a scripted Live endpoint: the setup
it asks for, the fMP4 reaching the page as media frames beside transcripts and turn ends,
and every way of falling back to the drawn avatar with the conversation kept."""

from __future__ import annotations

import asyncio
import io
import tempfile
from pathlib import Path
from typing import Any

import certifi
import pytest
from PIL import Image

from liveavatar import protocol as p
from liveavatar.live.avatar import REFERENCE_IMAGES_PREFIX
from liveavatar.media import make_media_store
from liveavatar.settings import Settings
from liveavatar.store import PersonaConfig
from liveavatar.store.sqlite import DB_FILENAME, SQLiteStore
from tests.support.browser import BrowserLog, browser, count
from tests.support.fake_live import INTERRUPTED, TURN_COMPLETE, FakeLive, Plan, fake_live, said
from tests.support.fake_live import media as media_message

from .conftest import StartBackend

INIT = b"\x00\x00\x00\x10ftypiso5\x00\x00\x02\x00" + b"moov" * 5
FRAGMENT = b"\x00\x00\x00\x08moof" + b"mdat" * 7 + b"!"  # odd: a padded frame
HELLO_V2 = {"type": "hello", "version": 2}


def settings_for(live: FakeLive, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "live_backend": "emulator",
        "vertex_ai_endpoint": live.url,
        "live_ca_file": certifi.where(),  # plain ws: any CA file; the emulator's is absent
        "host": "127.0.0.1",
        "allowed_origins": ["http://localhost:8000"],
        "shutdown_grace_s": 2.0,
        "persona_cache_s": 0,
        "data_dir": Path(tempfile.mkdtemp(prefix="liveavatar-test-")),
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def save_persona(settings: Settings, **fields: Any) -> None:
    store = SQLiteStore(settings.data_dir / DB_FILENAME)
    try:
        config = PersonaConfig(
            name="Max", model="gemini-3.8-live", voice="Puck", avatar_mode="native", **fields
        )
        await store.put_persona(config, expected_version=None)
    finally:
        await store.close()


def media_payloads(log: BrowserLog) -> bytes:
    out = b""
    for frame in log.frames:
        if isinstance(frame, bytes) and len(frame) % 2:
            out += frame[2:] if frame[0] == p.MEDIA_FMP4_PADDED else frame[1:]
    return out


def pcm_frames(log: BrowserLog) -> list[bytes]:
    return [f for f in log.frames if isinstance(f, bytes) and len(f) % 2 == 0]


def kinds(log: BrowserLog) -> list[str]:
    return [f["type"] if isinstance(f, dict) else "media" for f in log.frames]


async def test_the_video_reaches_the_page_as_media_frames(start_backend: StartBackend) -> None:
    turn = [said("Hello "), media_message(INIT), said("there."), media_message(FRAGMENT)]
    async with fake_live([Plan(messages=(*turn, TURN_COMPLETE))]) as live:
        settings = settings_for(live)
        await save_persona(settings, native_avatar="Kira")
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: count("turn_complete")(log) == 1)
            await log.wait_for(lambda log: len(media_payloads(log)) == len(INIT + FRAGMENT))
    setup = live.setups[0]
    assert setup["generationConfig"]["responseModalities"] == ["VIDEO"]
    assert setup["avatarConfig"] == {"avatar_name": "Kira"}
    assert log.messages("ready")[0]["avatar_mode"] == "native"
    # Unchanged bytes, in order, never as PCM; the transcript as with audio.
    assert media_payloads(log) == INIT + FRAGMENT
    assert pcm_frames(log) == []
    assert log.final("model") == ["Hello there."]
    assert not log.messages("avatar_fallback")


async def test_a_version_1_page_gets_audio_and_no_new_messages(
    start_backend: StartBackend,
) -> None:
    async with fake_live([Plan()]) as live:
        settings = settings_for(live)
        await save_persona(settings, native_avatar="Kira")
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello={"type": "hello", "version": 1}) as (_ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
    assert live.setups[0]["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert "avatarConfig" not in live.setups[0]
    assert log.messages("ready")[0]["avatar_mode"] == "drawn"
    assert kinds(log) == ["ready"]


async def test_the_developer_api_is_not_even_asked(start_backend: StartBackend) -> None:
    async with fake_live([Plan()]) as live:
        settings = settings_for(live, live_backend="gemini", gemini_api_key="test-key")
        await save_persona(settings, native_avatar="Kira")
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: count("avatar_fallback")(log) == 1)
    assert len(live.setups) == 1
    assert live.setups[0]["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert log.messages("ready")[0]["avatar_mode"] == "drawn"
    assert log.messages("avatar_fallback")[0]["reason"] == "unsupported_api"


@pytest.mark.parametrize("code", [1007, 1008])
async def test_a_project_not_allowed_falls_back_at_setup(
    start_backend: StartBackend, code: int
) -> None:
    async with fake_live([Plan(refuse=code), Plan(messages=(said("Hi."), TURN_COMPLETE))]) as live:
        settings = settings_for(live)
        await save_persona(settings, native_avatar="Kira")
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: count("turn_complete")(log) == 1)
    assert [s["generationConfig"]["responseModalities"] for s in live.setups] == [
        ["VIDEO"],
        ["AUDIO"],
    ]
    assert log.messages("ready")[0]["avatar_mode"] == "drawn"
    notice = log.messages("avatar_fallback")
    assert [n["reason"] for n in notice] == ["refused"]
    assert not log.messages("error")  # nothing else breaks
    assert log.final("model") == ["Hi."]


def portrait_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (720, 1280), (90, 60, 40)).save(out, format="PNG")
    return out.getvalue()


async def put_image(settings: Settings, name: str, data: bytes) -> None:
    store = await asyncio.to_thread(make_media_store, settings)
    await store.put(name, data, "image/png")


async def test_a_refused_reference_image_falls_back_at_setup_1011(
    start_backend: StartBackend,
) -> None:
    name = f"{REFERENCE_IMAGES_PREFIX}face.png"
    async with fake_live([Plan(refuse=1011), Plan()]) as live:
        settings = settings_for(live)
        await put_image(settings, name, portrait_png())
        await save_persona(settings, native_avatar_image=name)
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: count("avatar_fallback")(log) == 1)
    custom = live.setups[0]["avatarConfig"]["customized_avatar"]
    assert custom["image_mime_type"] == "image/png"
    assert live.setups[1]["generationConfig"]["responseModalities"] == ["AUDIO"]


async def test_an_unusable_reference_image_is_never_sent(start_backend: StartBackend) -> None:
    name = f"{REFERENCE_IMAGES_PREFIX}wide.png"
    out = io.BytesIO()
    Image.new("RGB", (1280, 720)).save(out, format="PNG")
    async with fake_live([Plan()]) as live:
        settings = settings_for(live)
        await put_image(settings, name, out.getvalue())
        await save_persona(settings, native_avatar_image=name)
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: count("avatar_fallback")(log) == 1)
    assert [s.get("avatarConfig") for s in live.setups] == [None]
    assert log.messages("avatar_fallback")[0]["reason"] == "image_invalid"


async def test_a_late_1008_falls_back_and_keeps_the_conversation(
    start_backend: StartBackend,
) -> None:
    first = Plan(
        messages=(
            said("The museum opens at nine."),
            media_message(INIT),
            TURN_COMPLETE,
            media_message(FRAGMENT),  # the next answer starts, then the refusal
        ),
        close=1008,
    )
    after = Plan(messages=(said("Welcome back."), TURN_COMPLETE))
    async with fake_live([first, after]) as live:
        settings = settings_for(live)
        await save_persona(settings, native_avatar="Kira")
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: log.final("model")[-1:] == ["Welcome back."])
    assert [s["generationConfig"]["responseModalities"] for s in live.setups] == [
        ["VIDEO"],
        ["AUDIO"],
    ]
    # Avatar sessions get no resumption handle: the instruction carries the conversation.
    instruction = live.setups[1]["systemInstruction"]["parts"][0]["text"]
    assert "You: The museum opens at nine." in instruction
    order = kinds(log)
    assert order.index("avatar_fallback") < len(order) - order[::-1].index("turn_complete") - 1
    assert [n["reason"] for n in log.messages("avatar_fallback")] == ["refused"]
    assert not [e for e in log.messages("error") if e["code"] != "live_reconnecting"]
    assert not log.messages("error")
    assert log.final("model") == ["The museum opens at nine.", "Welcome back."]


async def test_interrupted_flushes_the_queued_video(start_backend: StartBackend) -> None:
    turn = (media_message(INIT), said("A long answer"), INTERRUPTED, TURN_COMPLETE)
    async with fake_live([Plan(messages=turn)]) as live:
        settings = settings_for(live)
        await save_persona(settings, native_avatar="Kira")
        backend = await start_backend(settings)
        async with browser(backend.ws_url, hello=HELLO_V2) as (_ws, log):
            await log.wait_for(lambda log: count("turn_complete")(log) == 1)
            await log.wait_for(lambda log: len(media_payloads(log)) >= len(INIT))
    assert count("interrupted")(log) == 1
    assert media_payloads(log) == INIT  # the init segment is kept: later turns need it
