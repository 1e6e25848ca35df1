"""Live-avatar mode (reference §14) over a real socket: the refusals, and a VIDEO reply whose
fragmented MP4 decodes (init segment first, H.264 frames at 24 fps in portrait, AAC voice)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import pytest
from google.genai import types
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveavatar.emulator.avatar import REASON_AVATAR_REQUIRED, REASON_BLOCKED
from liveavatar.emulator.config import FaultConfig
from liveavatar.emulator.server import EmulatorServer
from tests.integration.conftest import StartEmulator
from tests.support.avatar_stream import decode, top_boxes
from tests.support.live import reading, sdk_client, speak, turn_completes

VERTEX_PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
GEMINI_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
MODEL = "projects/p/locations/us-central1/publishers/google/models/gemini-3.8-live"
TIMEOUT_S = 30.0


def avatar_setup(avatar: dict[str, Any] | None, modalities: list[str] | None = None) -> str:
    setup: dict[str, Any] = {
        "model": MODEL,
        "generationConfig": {"responseModalities": modalities or ["VIDEO"]},
        "outputAudioTranscription": {},
        "sessionResumption": {},
        # Barge-in by activityStart, without speech recognition in the way.
        "realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}},
    }
    if avatar is not None:
        setup["avatarConfig"] = avatar
    return json.dumps({"setup": setup})


def image(size: tuple[int, int], fmt: str, colour: tuple[int, int, int] = (90, 120, 160)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
async def server(start_emulator: StartEmulator) -> EmulatorServer:
    return await start_emulator(tls=False)


@asynccontextmanager
async def connected(
    server: EmulatorServer, path: str = VERTEX_PATH
) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url + path, max_size=2**22) as ws:
        yield ws


async def closed_with(ws: ClientConnection) -> tuple[int, str, list[dict[str, Any]]]:
    """Read until the server closes: its code, its reason and what came before."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT_S):
        with pytest.raises(ConnectionClosed) as info:
            while True:
                seen.append(json.loads(await ws.recv()))
    rcvd = info.value.rcvd
    assert rcvd is not None, "closed without a close frame"
    return rcvd.code, rcvd.reason, seen


async def read_until(ws: ClientConnection, key: str) -> list[dict[str, Any]]:
    """Messages up to and including the first whose serverContent holds `key`."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            raw = await ws.recv()
            assert isinstance(raw, bytes), "every server message comes as a binary frame"
            seen.append(json.loads(raw))
            if key in seen[-1].get("serverContent", {}):
                return seen


def media(messages: list[dict[str, Any]]) -> list[bytes]:
    out = []
    for m in messages:
        for part in m.get("serverContent", {}).get("modelTurn", {}).get("parts", []):
            if "inlineData" in part:
                assert part["inlineData"]["mimeType"] == "video/mp4"
                out.append(base64.b64decode(part["inlineData"]["data"]))
    return out


@pytest.mark.parametrize(
    ("path", "avatar", "modalities", "code", "reason"),
    [
        (VERTEX_PATH, None, ["VIDEO"], 1007, REASON_AVATAR_REQUIRED),
        (VERTEX_PATH, {"avatarName": "Kira"}, ["AUDIO", "VIDEO"], 1007, "(AUDIO, VIDEO)"),
        (GEMINI_PATH, {"avatarName": "Kira"}, ["VIDEO"], 1007, "(VIDEO) is not supported"),
        (VERTEX_PATH, {"avatarName": "Nobody"}, ["VIDEO"], 1007, "invalid argument"),
        (
            VERTEX_PATH,
            {"customizedAvatar": {"imageMimeType": "image/webp", "imageData": "WEBP"}},
            ["VIDEO"],
            1011,
            "Internal error",
        ),
        (
            VERTEX_PATH,
            {"customized_avatar": {"image_mime_type": "image/png", "image_data": "LANDSCAPE"}},
            ["VIDEO"],
            1011,
            "Internal error",
        ),
    ],
    ids=[
        "no-avatar-config",
        "audio-and-video",
        "developer-api",
        "unknown-name",
        "webp",
        "landscape",
    ],
)
async def test_refused_setups_close_before_setup_complete(
    server: EmulatorServer,
    path: str,
    avatar: dict[str, Any] | None,
    modalities: list[str],
    code: int,
    reason: str,
) -> None:
    text = avatar_setup(avatar, modalities)
    text = text.replace('"WEBP"', json.dumps(image((720, 1280), "WEBP")))
    text = text.replace('"LANDSCAPE"', json.dumps(image((1280, 720), "PNG")))
    async with connected(server, path) as ws:
        await ws.send(text)
        got_code, got_reason, seen = await closed_with(ws)
    assert (got_code, seen) == (code, [])
    assert reason.lower() in got_reason.lower()


async def test_fault_refuses_avatars_only(start_emulator: StartEmulator) -> None:
    server = await start_emulator(tls=False, faults=FaultConfig(refuse_avatar=1008))
    async with connected(server) as ws:
        await ws.send(avatar_setup({"avatarName": "Kira"}))
        assert (await closed_with(ws))[:2] == (1008, "The caller does not have permission")
    async with connected(server) as ws:
        await ws.send(avatar_setup(None, ["AUDIO"]))
        assert "setupComplete" in json.loads(await ws.recv())


async def test_blocked_reference_image_is_refused_after_setup_complete(
    server: EmulatorServer,
) -> None:
    red = image((720, 1280), "JPEG", colour=(255, 0, 0))
    avatar = {"customized_avatar": {"image_mime_type": "image/jpeg", "image_data": red}}
    async with connected(server) as ws:
        await ws.send(avatar_setup(avatar))
        code, reason, seen = await closed_with(ws)
    assert (code, reason) == (1008, REASON_BLOCKED)
    assert "setupComplete" in seen[0]
    assert media(seen) == []


async def test_video_reply_decodes_and_turns_continue_after_a_gap(
    server: EmulatorServer,
) -> None:
    async with connected(server) as ws:
        await ws.send(avatar_setup({"avatar_name": "kira"}))
        assert "setupComplete" in json.loads(await ws.recv())
        await ws.send(json.dumps({"realtimeInput": {"text": "hello"}}))
        first = await read_until(ws, "turnComplete")
        await ws.send(json.dumps({"realtimeInput": {"text": "what is your name"}}))
        second = await read_until(ws, "turnComplete")
    for turn in (first, second):
        kinds = [next(iter(m["serverContent"])) for m in turn if "serverContent" in m]
        assert kinds[0] == "outputTranscription", "the words come before their media"
        assert kinds[-2:] == ["generationComplete", "turnComplete"]
        assert not any("sessionResumptionUpdate" in m for m in turn), "never on avatars"
    chunks = media(first) + media(second)
    assert top_boxes(chunks[0])[:2] == [b"ftyp", b"moov"], "the init segment comes first"
    assert all(set(top_boxes(c)) == {b"moof", b"mdat"} for c in chunks[1:])

    got = decode(b"".join(chunks))
    assert (got.video_codec, got.width, got.height) == ("h264", 360, 640)
    assert got.profile == "Constrained Baseline"
    tick = got.ticks_per_frame(24)
    steps = got.frame_steps()
    assert {s for s in steps if s < 2 * tick} == {tick}, "24 frames a second"
    assert sum(s > tick for s in steps) == 1, "one jump: the gap between the two turns"
    assert got.audio_codec == "aac"
    assert abs(got.samples.size / got.sample_rate - len(got.lumas) / 24) < 0.5
    assert float(np.abs(got.samples).max()) > 0.1, "the voice is in the audio track"
    # The mouth moves: the region around it changes from frame to frame while speaking.
    mouths = np.stack([y[296:392, 146:214].astype(np.float32) for y in got.lumas])
    assert float(mouths.std(axis=0).mean()) > 5


async def test_barge_in_stops_the_video_at_once(server: EmulatorServer) -> None:
    async with connected(server) as ws:
        await ws.send(avatar_setup({"avatarName": "Ben"}))
        assert "setupComplete" in json.loads(await ws.recv())
        await ws.send(json.dumps({"realtimeInput": {"text": "tell me a joke"}}))
        async with asyncio.timeout(TIMEOUT_S):
            while not media([json.loads(await ws.recv())]):
                pass
        await ws.send(json.dumps({"realtimeInput": {"activityStart": {}}}))
        cut = await read_until(ws, "interrupted")
        after = await read_until(ws, "turnComplete")
        # A new turn: whatever arrives before its words would be the old turn's media.
        await ws.send(json.dumps({"realtimeInput": {"text": "hello"}}))
        following = await read_until(ws, "outputTranscription")
        rest = await read_until(ws, "turnComplete")
    assert media(after + following) == []
    assert not any("generationComplete" in m.get("serverContent", {}) for m in cut + after)
    assert media(rest), "the next turn is spoken"


async def test_sdk_vertex_session_with_a_custom_avatar(emulator: EmulatorServer) -> None:
    """The SDK's own setup (snake_case inside avatarConfig), a spoken question, and the
    SDK's parsing of the media."""
    photo = base64.b64decode(image((720, 1280), "PNG", colour=(200, 170, 140)))
    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.VIDEO],
        avatar_config=types.AvatarConfig(
            customized_avatar=types.CustomizedAvatar(image_mime_type="image/png", image_data=photo)
        ),
        output_audio_transcription=types.AudioTranscriptionConfig(),
    )
    client = sdk_client(emulator, vertex=True)
    live = client.aio.live.connect(model="gemini-3.8-live", config=config)
    async with live as session, reading(session) as transcript:
        await speak(session, "what is your name")  # the microphone's path: VAD, recognition
        await transcript.wait_for(lambda t: turn_completes(t) == 1)
    parts = [
        p.inline_data
        for m in transcript.messages
        if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts or []
        if p.inline_data
    ]
    assert {p.mime_type for p in parts} == {"video/mp4"}
    got = decode(b"".join(p.data or b"" for p in parts))
    assert (got.width, got.height) == (360, 640)
    assert len(got.lumas) > 24
    assert "name" in transcript.output_text().lower()
