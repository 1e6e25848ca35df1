"""Raw WebSocket clients: routing, credentials, bad input and the stall fault."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from liveavatar.emulator.config import FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.tls import client_context
from tests.integration.conftest import StartEmulator
from tests.support.speech import silence

GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
SETUP = {"setup": {"model": "models/gemini-3.8-live"}}


@asynccontextmanager
async def raw(
    server: EmulatorServer, path: str = GEMINI_PATH, **kwargs: Any
) -> AsyncIterator[ClientConnection]:
    ssl = client_context(server.config.cert_dir) if server.config.tls else None
    kwargs.setdefault("max_size", 2**20)
    async with connect(server.ws_url + path, ssl=ssl, **kwargs) as ws:
        yield ws


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    """Read until the server closes; return its close code and reason."""
    async with asyncio.timeout(10):
        with pytest.raises(ConnectionClosed) as info:
            while True:
                await ws.recv()
    rcvd = info.value.rcvd
    assert rcvd is not None, "closed without a close frame"
    return rcvd.code, rcvd.reason


async def setup_ok(ws: ClientConnection, setup: dict[str, Any] = SETUP) -> None:
    await ws.send(json.dumps(setup))
    first = json.loads(await ws.recv())
    assert "setupComplete" in first


@pytest.mark.parametrize(
    "path",
    [
        GEMINI_PATH,
        "//ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent",
        "/some/prefix//ws/google.ai.generativelanguage.v1alpha.GenerativeService."
        "BidiGenerateContentConstrained?access_token=k",
        "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent",
        "/ws/google.cloud.aiplatform.v1.LlmBidiService/BidiGenerateContent",
    ],
)
async def test_every_documented_route_is_served(emulator: EmulatorServer, path: str) -> None:
    async with raw(emulator, path) as ws:
        await setup_ok(ws)


async def test_unknown_path_is_refused_at_the_upgrade(emulator: EmulatorServer) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with raw(emulator, "/ws/not.a.Service"):
            pass
    assert info.value.response.status_code == 404


@pytest.mark.parametrize(
    ("suffix", "headers"),
    [
        ("?key=sekrit", {}),
        ("?access_token=sekrit", {}),
        ("", {"x-goog-api-key": "sekrit"}),
        ("", {"Authorization": "Bearer sekrit"}),
        ("", {"Authorization": "Token auth_tokens/sekrit"}),
    ],
)
async def test_credentials_accepted_from_every_place(
    start_emulator: StartEmulator, suffix: str, headers: dict[str, str]
) -> None:
    server = await start_emulator(api_key="sekrit")
    async with raw(server, GEMINI_PATH + suffix, additional_headers=headers) as ws:
        await setup_ok(ws)


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"x-goog-api-key": "wrong"}, 403)])
async def test_missing_or_wrong_key_refused_at_the_upgrade(
    start_emulator: StartEmulator, headers: dict[str, str], status: int
) -> None:
    server = await start_emulator(api_key="sekrit")
    with pytest.raises(InvalidStatus) as info:
        async with raw(server, additional_headers=headers):
            pass
    assert info.value.response.status_code == status


async def test_plain_ws_mode_and_snake_case_keys(start_emulator: StartEmulator) -> None:
    server = await start_emulator(tls=False, text_frames=True)
    setup = {
        "setup": {
            "model": "models/gemini-3.8-live",
            "generation_config": {
                "response_modalities": ["AUDIO"],
                "speech_config": {
                    "voice_config": {"prebuilt_voice_config": {"voice_name": "Puck"}}
                },
            },
            "output_audio_transcription": {},
        }
    }
    async with raw(server) as ws:
        await setup_ok(ws, setup)
        await ws.send(json.dumps({"realtime_input": {"text": "hello"}}))
        kinds: list[str] = []
        while "turnComplete" not in kinds:
            frame = await ws.recv()
            assert isinstance(frame, str)  # text frames on request
            msg = json.loads(frame)
            assert set(msg) <= {"serverContent", "usageMetadata", "sessionResumptionUpdate"}
            kinds += list(msg.get("serverContent", {}))
    assert kinds[-2:] == ["generationComplete", "turnComplete"]


async def test_binary_frames_by_default(emulator: EmulatorServer) -> None:
    async with raw(emulator) as ws:
        await ws.send(json.dumps(SETUP))
        assert isinstance(await ws.recv(), bytes)


@pytest.mark.parametrize(
    ("before_setup", "frame", "code"),
    [
        (False, "{not json", 1007),
        (False, json.dumps({"fooBar": {}}), 1007),
        (False, json.dumps({"realtimeInput": {"text": "hi"}}), 1007),
        (True, json.dumps(SETUP), 1007),
        (True, b"\x00\xff\xfe garbage \x81", 1007),
        (
            True,
            json.dumps({"realtimeInput": {"audio": {"mimeType": "audio/pcm", "data": "!!"}}}),
            1007,
        ),
        (True, json.dumps({"realtimeInput": {"activityStart": {}}}), 1007),
        (True, json.dumps({"realtimeInput": {"activityEnd": {}}}), 1007),
        (
            True,
            json.dumps({"realtimeInput": {"video": {"mimeType": "image/jpeg", "data": "AAAA"}}}),
            1007,
        ),
        (True, "x" * (5 * 1024 * 1024), 1009),
    ],
    ids=[
        "malformed-json",
        "unknown-top-level-key",
        "realtime-before-setup",
        "second-setup",
        "binary-garbage",
        "bad-base64",
        "activity-start-with-vad-on",
        "activity-end-with-vad-on",
        "not-an-image",
        "oversized-frame",
    ],
)
async def test_bad_input_closes_only_that_connection(
    emulator: EmulatorServer, before_setup: bool, frame: str | bytes, code: int
) -> None:
    async with raw(emulator) as good, raw(emulator, max_size=None) as bad:
        await setup_ok(good)
        if before_setup:
            await setup_ok(bad)
        await bad.send(frame)
        got_code, reason = await closed_with(bad)
        assert got_code == code
        assert reason
        # The neighbour is unaffected and still answered.
        await good.send(json.dumps({"realtimeInput": {"text": "hello"}}))
        async with asyncio.timeout(20):
            while "turnComplete" not in json.loads(await good.recv()).get("serverContent", {}):
                pass


async def test_stall_fault_keeps_the_socket_open_but_silent(start_emulator: StartEmulator) -> None:
    server = await start_emulator(faults=FaultConfig(stall_after_s=0.0))
    async with raw(server) as ws:
        await setup_ok(ws)
        await ws.send(json.dumps({"realtimeInput": {"text": "hello"}}))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.5):
                await ws.recv()
        async with asyncio.timeout(5):
            await (await ws.ping())  # still connected: the transport answers pings


async def test_echo_brain_returns_the_same_audio_at_24k(start_emulator: StartEmulator) -> None:
    import numpy as np

    server = await start_emulator(brain="echo")
    tone = (np.sin(np.arange(320) * 2 * np.pi * 440 / 16000) * 8000).astype("<i2").tobytes()
    async with raw(server) as ws:
        await setup_ok(ws)
        for pcm in (tone, silence(20)):
            data = base64.urlsafe_b64encode(pcm).decode()
            await ws.send(
                json.dumps(
                    {
                        "realtime_input": {
                            "audio": {"mime_type": "audio/pcm;rate=16000", "data": data}
                        }
                    }
                )
            )
            msg = json.loads(await ws.recv())
            part = msg["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
            assert part["mimeType"] == "audio/pcm;rate=24000"
            out = np.frombuffer(base64.b64decode(part["data"]), dtype="<i2")
            assert out.size == 480
            src = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
            assert (
                abs(np.sqrt(np.mean(out.astype(np.float64) ** 2)) - np.sqrt(np.mean(src**2))) < 300
            )
