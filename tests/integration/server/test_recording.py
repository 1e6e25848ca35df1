"""Recordings through the real backend and emulator: with a recording persona, one spoken
turn gives a stereo Ogg Opus file named after the conversation and its session part, the
user on the left where they spoke and the model on the right where it answered; without
it, nothing is recorded; a backend killed mid-conversation leaves a file that plays up to
a few seconds before the kill."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf  # type: ignore[import-untyped]

from liveavatar.emulator.server import EmulatorServer
from liveavatar.media.recordings import parse_recording_name
from liveavatar.settings import Settings
from liveavatar.store import PersonaConfig, make_store
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.browser import browser, count, stream_pcm
from tests.support.procs import serve_process
from tests.support.speech import silence, speech_bounds_ms, synthesize_pcm16
from tests.unit.bridge.recording.support import decode, loud_between

from .test_session_endings import _sessions_ended

PERSONA: dict[str, Any] = {
    "name": "Ava",
    "model": "gemini-3.8-live",
    "voice": "Puck",
    "system_instruction": "You are Ava, a friendly and concise talking avatar.",
    "tools": [],
}
LEAD_MS = 300


async def started(emulator: EmulatorServer, start: StartBackend, tmp_path: Path) -> Backend:
    return await start(backend_settings(emulator, media_dir=tmp_path / "media"))


async def test_a_recorded_turn_is_stereo_opus_with_each_side_where_it_spoke(
    emulator: EmulatorServer, start_backend: StartBackend, tmp_path: Path
) -> None:
    backend = await started(emulator, start_backend, tmp_path)
    await backend.state.store.put_persona(
        PersonaConfig(**PERSONA, recording=True), expected_version=None
    )
    speech = synthesize_pcm16("what is your name")
    loop = asyncio.get_running_loop()
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        t0 = loop.time()
        await stream_pcm(ws, silence(LEAD_MS) + speech + silence(1000))
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
        answer_s = len(log.audio()) / 2 / 24_000
        first_audio = next(i for i, f in enumerate(log.frames) if isinstance(f, bytes))
        assert first_audio and answer_s > 0.5
        # The user listens to the answer with the microphone open, as a page does.
        await stream_pcm(ws, silence(round(answer_s * 1000) + 500))
        await ws.send(json.dumps({"type": "bye"}))
        session_id = str(log.messages("ready")[0]["session_id"])
        t_end = loop.time()
    await _sessions_ended(backend.state)

    [obj] = await backend.state.media.list("recordings/")
    parsed = parse_recording_name(obj.name)
    assert parsed is not None and parsed.conversation_id == session_id
    conv = await backend.state.store.get_conversation(session_id)
    assert conv is not None
    started_us = (conv.timestamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(
        microseconds=1
    )
    assert parsed.part == str(started_us)
    assert obj.content_type == "audio/ogg"

    data = await backend.state.media.get(obj.name, max_bytes=10_000_000)
    info = sf.info(io.BytesIO(data))
    assert (info.format, info.subtype, info.channels) == ("OGG", "OPUS", 2)
    audio, rate = decode(data)
    assert abs(len(audio) / rate - (t_end - t0)) < 1.0
    left, right = audio[:, 0], audio[:, 1]
    begin_ms, end_ms = speech_bounds_ms(speech)
    spoke = ((LEAD_MS + begin_ms) / 1000, (LEAD_MS + end_ms) / 1000)
    # The user's words on the left, while the model was silent on the right.
    assert loud_between(left, rate, spoke[0] + 0.1, spoke[1] - 0.1) > 0.5
    assert loud_between(right, rate, 0.0, spoke[1]) == 0.0
    # The answer on the right, after the question, while the microphone was quiet.
    # (Speech has its pauses: a third of it above the floor is plenty.)
    replied = loud_between(right, rate, spoke[1], len(audio) / rate)
    assert replied * (len(audio) / rate - spoke[1]) > answer_s / 3
    assert loud_between(left, rate, spoke[1] + 0.3, len(audio) / rate) == 0.0


async def test_nothing_is_recorded_when_the_persona_does_not_ask(
    emulator: EmulatorServer, start_backend: StartBackend, tmp_path: Path
) -> None:
    backend = await started(emulator, start_backend, tmp_path)
    await backend.state.store.put_persona(PersonaConfig(**PERSONA), expected_version=None)
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await stream_pcm(ws, silence(LEAD_MS) + synthesize_pcm16("hello") + silence(1000))
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
    await _sessions_ended(backend.state)
    assert await backend.state.media.list("recordings/") == []


async def test_a_killed_backend_loses_only_the_last_seconds(
    emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir, media_dir = tmp_path / "data", tmp_path / "media"
    settings = Settings(_env_file=None, data_dir=data_dir, media_dir=media_dir)  # type: ignore[call-arg]
    store = make_store(settings)
    try:
        await store.put_persona(PersonaConfig(**PERSONA, recording=True), expected_version=None)
    finally:
        await store.close()
    monkeypatch.setenv("MEDIA_DIR", str(media_dir))
    loop = asyncio.get_running_loop()
    speech = synthesize_pcm16("tell me something about the weather today")
    async with (
        serve_process(emulator, data_dir) as (proc, port),
        browser(f"ws://127.0.0.1:{port}/ws") as (ws, log),
    ):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        t0 = loop.time()
        await stream_pcm(ws, silence(LEAD_MS) + speech + silence(3000))
        talked = loop.time() - t0
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    [path] = list(media_dir.glob("recordings/*/*.ogg"))
    audio, rate = decode(path.read_bytes())  # no end-of-stream page: still plays
    kept = len(audio) / rate
    assert talked - 4.0 < kept <= talked + 0.5
    assert np.abs(audio[:, 0]).max() > 0.05  # the user's speech is in it
