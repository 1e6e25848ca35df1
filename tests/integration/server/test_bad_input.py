"""Hostile or broken browsers get typed errors or documented closes; neighbours never notice."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from liveavatar.emulator.server import EmulatorServer
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.browser import BrowserLog, browser, count


async def neighbour_turn(backend: Backend) -> None:
    """Another session completes a spoken-reply turn meanwhile."""
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "hello"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        assert len(log.audio()) > 0


def errors(log: BrowserLog) -> list[dict[str, Any]]:
    return log.messages("error")


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        (b"\x01\x02\x03", "even number of bytes"),
        (b"\x00" * 64_000, "at most"),
        # The backend's media frames are for the page only: one sent back is odd audio.
        (b"\xf0" + b"\x00\x00\x00\x08moof", "even number of bytes"),
        (b"\xf1\x00" + b"\x00\x00\x00\x08moof!", "even number of bytes"),
        ("{not json", "JSON"),
        (json.dumps({"type": "dance"}), "'dance'"),
        (json.dumps({"no": "type"}), "need a type"),
        (json.dumps({"type": "text", "text": ""}), "'text'"),
        (json.dumps({"type": "text", "text": "x" * 5000}), "'text'"),
        (json.dumps({"type": "video_frame", "data": "%%%%"}), "base64"),
        (json.dumps({"type": "hello", "version": 1}), "only be sent once"),
    ],
    ids=[
        "odd-audio",
        "huge-audio",
        "media-frame",
        "padded-media-frame",
        "malformed-json",
        "unknown-type",
        "missing-type",
        "empty-text",
        "long-text",
        "bad-video",
        "second-hello",
    ],
)
async def test_recoverable_bad_input_gets_a_typed_error(
    backend: Backend, frame: str | bytes, fragment: str
) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(frame)
        await log.wait_for(lambda log: len(errors(log)) >= 1)
        (error,) = errors(log)
        assert error["code"] == "bad_request" and error["fatal"] is False
        assert fragment in error["message"]
        # The session is still fully usable.
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log.close_code is None


async def test_audio_before_hello_is_a_protocol_error(backend: Backend) -> None:
    async with browser(backend.ws_url, hello={}) as (ws, log):
        await ws.send(b"\x00" * 640)
        await log.wait_for(lambda log: log.close_code is not None)
    assert errors(log)[0]["code"] == "bad_request"
    assert log.close_code == 4400


async def test_wrong_protocol_version(backend: Backend) -> None:
    async with browser(backend.ws_url, hello={"type": "hello", "version": 99}) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    assert errors(log)[0]["code"] == "unsupported_version"
    assert log.close_code == 4426


async def test_oversized_frame_is_closed_1009_and_neighbours_stream_on(backend: Backend) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(b"\x00" * 2_000_000)
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.close_code == 1009
    await neighbour_turn(backend)


async def test_a_flood_of_frames_is_contained(backend: Backend) -> None:
    async def flood() -> BrowserLog:
        async with browser(backend.ws_url) as (ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            for _ in range(2_000):  # 40 s of audio at once: far faster than real time
                await ws.send(b"\x00" * 640)
            for _ in range(50):
                await ws.send("garbage")
            await log.wait_for(lambda log: log.close_code is not None)
        return log

    flooded, _ = await asyncio.gather(flood(), neighbour_turn(backend))
    codes = {e["code"] for e in errors(flooded)}
    assert codes == {"bad_request"}
    assert any("faster than real time" in e["message"] for e in errors(flooded))
    assert flooded.close_code == 4400  # too many invalid messages


async def test_hello_timeout_is_bounded(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    # A silent client is closed after the hello timeout rather than held forever.
    backend = await start_backend(backend_settings(emulator, hello_timeout_s=0.5))
    async with browser(backend.ws_url, hello={}) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.close_code == 4408


async def test_foreign_origin_is_refused_at_the_upgrade(backend: Backend) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(backend.ws_url, additional_headers={"Origin": "https://evil.test"}):
            pass
    assert info.value.response.status_code == 403
    async with browser(backend.ws_url, origin="http://localhost:8000") as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)


async def test_a_text_frame_not_utf8_is_closed_1007_and_logged_as_a_warning(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    # The WebSocket layer refuses it; a browser's fault must not log as a server error.
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(b'{"type":"text","text":"\xff"}', text=True)
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.close_code == 1007
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("not UTF-8" in r.getMessage() for r in caplog.records)
    await neighbour_turn(backend)
