"""Hostile input (issue 8, "the edges"): each gets a typed `bad_request`, never `internal`.

These run through a real backend in front of the emulator. Besides the browser's view,
each test checks the backend logged no stack trace: client faults are not bugs.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from typing import Any

import pytest
from PIL import Image
from websockets.exceptions import ConnectionClosed

from tests.integration.server.conftest import Backend
from tests.support.browser import BrowserLog, browser, count


def errors(log: BrowserLog) -> list[dict[str, Any]]:
    return log.messages("error")


def no_stack_traces(caplog: pytest.LogCaptureFixture) -> bool:
    return not [r for r in caplog.records if r.exc_info and r.name.startswith("liveavatar")]


async def still_usable(ws: Any, log: BrowserLog) -> None:
    turns = count("turn_complete")(log)
    await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
    await log.wait_for(lambda log: count("turn_complete")(log) > turns)


def video_frame(data: bytes, mime_type: str = "image/jpeg") -> str:
    encoded = base64.b64encode(data).decode()
    return json.dumps({"type": "video_frame", "data": encoded, "mime_type": mime_type})


def jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="JPEG")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` in a few dozen bytes (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


async def test_deeply_nested_json_is_a_recoverable_bad_request(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send('{"type":"text","text":' + "[" * 100_000)
        await ws.send('{"type":"text","text":"x","extra":' + '{"a":' * 5_000 + "1" + "}" * 5_001)
        await log.wait_for(lambda log: len(errors(log)) >= 2)
        for error in errors(log):
            assert error["code"] == "bad_request" and error["fatal"] is False
            assert "nested too deeply" in error["message"]
        await still_usable(ws, log)
    assert log.close_code is None
    assert no_stack_traces(caplog)


@pytest.mark.parametrize("t", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_non_finite_ping_is_refused_and_pong_echoes_finite_t(
    backend: Backend, caplog: pytest.LogCaptureFixture, t: str
) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send('{"type":"ping","t":' + t + "}")
        await ws.send('{"type":"ping","t":1234.5}')
        await log.wait_for(lambda log: count("pong")(log) >= 1)
        (error,) = errors(log)
        assert error["code"] == "bad_request" and error["fatal"] is False
        assert "finite" in error["message"]
        assert [m["t"] for m in log.messages("pong")] == [1234.5]
    assert no_stack_traces(caplog)


async def test_a_ping_flood_is_rate_limited_then_closed_4400(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        try:
            for i in range(5_000):
                await ws.send(json.dumps({"type": "ping", "t": i}))
        except ConnectionClosed:
            pass  # closed mid-flood: what this test expects
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.close_code == 4400
    *notices, fatal = errors(log)
    assert {e["code"] for e in errors(log)} == {"bad_request"}
    assert notices and all(not e["fatal"] and "too fast" in e["message"] for e in notices)
    assert fatal["fatal"] is True
    # The frames that were let through were answered, in order, each with its own `t`.
    pongs = [m["t"] for m in log.messages("pong")]
    assert pongs and pongs == sorted(pongs)
    assert no_stack_traces(caplog)


async def test_a_page_paced_like_the_real_one_is_never_limited(backend: Backend) -> None:
    # A burst bigger than a real page ever sends at once (a minute of frames after a
    # network stall) passes whole.
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        for i in range(50):
            await ws.send(json.dumps({"type": "ping", "t": i}))
        await log.wait_for(lambda log: count("pong")(log) == 50)
        assert errors(log) == []


async def test_bad_video_frames_are_refused_and_the_session_goes_on(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    good = jpeg((64, 48), (200, 30, 30))
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    bad = [
        (video_frame(b"certainly not an image " * 4), "not a decodable"),
        (video_frame(png.getvalue(), "image/jpeg"), "mime_type"),
        (video_frame(good[: len(good) // 2]), "not a decodable"),
        (video_frame(png_header_only(100_000, 100_000), "image/png"), "too large"),
        (video_frame(png_header_only(5_000, 10), "image/png"), "too large"),
    ]
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        for frame, _ in bad:
            await ws.send(frame)
        await log.wait_for(lambda log: len(errors(log)) >= len(bad))
        for error, (_, fragment) in zip(errors(log), bad, strict=True):
            assert error["code"] == "bad_request" and error["fatal"] is False
            assert fragment in error["message"]
        # A valid frame after them is forwarded and seen; nothing cost a Live reconnect.
        await ws.send(video_frame(good))
        await ws.send(json.dumps({"type": "text", "text": "what do you see"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    answer = log.final("model")[0]
    assert "64 by 48" in answer and "red" in answer
    assert len(errors(log)) == len(bad)
    assert log.close_code is None
    assert no_stack_traces(caplog)
