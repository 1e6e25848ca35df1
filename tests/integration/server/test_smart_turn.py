"""`turn_detection: smart` through the real backend and emulator: our detector marks the
user's turns in Live's manual activity mode (the emulator detects nothing itself then),
and barge-in, push-to-talk's `audio_end`, typed text, goAway rotation and resumption
work as they do with Live's own detection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.errors import CLOSE_INTERNAL
from liveavatar.turn import models
from tests.integration.conftest import StartEmulator
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.integration.server.test_persona_fields import save_persona
from tests.integration.server.test_resilience import ask, metric, microphone, wait_metric
from tests.support.browser import browser, count, stream_pcm, stream_speech
from tests.support.speech import silence, synthesize_pcm16, trim

SMART: dict[str, Any] = {
    "name": "Ava",
    "system_instruction": "You are Ava, a friendly avatar.",
    "turn_detection": "smart",
    # espeak's prosody is not what the model learnt from, and asked at the first silent
    # window it leaves most of espeak's questions open (docs/PERFORMANCE.md): the
    # maximum silence, kept short here, ends them.
    "smart_turn": {"short_silence_ms": 96, "max_silence_ms": 400, "threshold": 0.5},
}


async def smart_backend(
    emulator: EmulatorServer, start_backend: StartBackend, **settings: Any
) -> Backend:
    config = backend_settings(emulator, persona_cache_s=0, **settings)
    await save_persona(config.data_dir, **SMART)
    return await start_backend(config)


@pytest.mark.parametrize("client", ["picows", "raw", "sdk"])
async def test_a_spoken_turn_is_ended_by_our_detector(
    emulator: EmulatorServer, start_backend: StartBackend, client: str
) -> None:
    backend = await smart_backend(emulator, start_backend, live_client=client)
    async with browser(backend.ws_url) as (ws, log):
        await stream_speech(ws, "what is your name")
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log.final("user") == ["what is your name"]
    assert log.final("model") == ["My name is Ava."]
    ends = await metric(backend.http_url, 'liveavatar_smart_turn_ends_total{by="model"}')
    ends += await metric(backend.http_url, 'liveavatar_smart_turn_ends_total{by="max_silence"}')
    assert ends == 1
    assert await metric(backend.http_url, "liveavatar_smart_turn_cpu_seconds_total") > 0


async def test_barge_in_and_typed_text(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await smart_backend(emulator, start_backend)
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: len(log.audio()) > 0)
        await stream_speech(ws, "hello there")
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    kinds = [f["type"] if isinstance(f, dict) else "audio" for f in log.frames]
    after = kinds[kinds.index("interrupted") + 1 :]
    assert "audio" not in after[: after.index("turn_complete")]
    assert log.final("user") == ["tell me a joke", "hello there"]
    assert "Hello! I am Ava" in log.final("model")[-1]


async def test_audio_end_ends_the_utterance_at_once(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await smart_backend(emulator, start_backend)
    async with browser(backend.ws_url) as (ws, log):
        # Push-to-talk released right after the last word: no silence to wait for.
        await stream_pcm(ws, silence(300) + trim(synthesize_pcm16("what is your name")))
        await ws.send(json.dumps({"type": "audio_end"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log.final("user") == ["what is your name"]
    assert await metric(backend.http_url, 'liveavatar_smart_turn_ends_total{by="mic_off"}') == 1


async def test_go_away_rotation_and_resumption(
    start_emulator: StartEmulator, start_backend: StartBackend
) -> None:
    emulator = await start_emulator(connection_lifetime_s=9.0, goaway_notice_s=7.0)
    backend = await smart_backend(emulator, start_backend)
    async with browser(backend.ws_url) as (ws, log), microphone(ws):
        before = await ask(ws, log, "tell me a joke")
        await wait_metric(backend.http_url, "liveavatar_live_rotations_total", 1)
        after = await ask(ws, log, "tell me a joke")
        session_id = log.messages("ready")[0]["session_id"]
    assert len(after) == len(before) > 48_000
    assert await metric(backend.http_url, "liveavatar_live_reconnects_total") == 0
    hello = {"type": "hello", "version": 1, "session_id": session_id}
    async with browser(backend.ws_url, hello=hello) as (ws, log2):
        await stream_speech(ws, "what did I say")
        await log2.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log2.messages("ready")[0]["resumed"] is True
    assert log2.final("model") == ["Earlier you said: tell me a joke."]
    assert [m for m in (*log.messages("error"), *log2.messages("error"))] == []


async def test_smart_without_its_model_files_refuses_the_session(
    emulator: EmulatorServer, start_backend: StartBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(models, "PACKAGE", "not-installed-here")
    monkeypatch.setattr(models, "_shared", None)
    backend = await smart_backend(emulator, start_backend)
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    (error,) = log.messages("error")
    assert "pipecat-ai" in error["message"] and error["fatal"] is True
    assert log.close_code == CLOSE_INTERNAL
    assert count("ready")(log) == 0
