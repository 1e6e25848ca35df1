"""Unit tests for the load generator's pieces: percentiles (`_percentiles`), markers
(`_audio_markers`), frames and the client (`_ws_client`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random

import numpy as np
import pytest
from bench import _audio_markers as am
from bench import _percentiles as pc
from bench import _ws_client as ws
from bench.proxy import metric_value, passes

from liveavatar.audio.pcm import upsample_16k_to_24k
from liveavatar.emulator import outbound


@pytest.mark.parametrize("n", [1, 2, 3, 10, 101, 1000])
@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 0.99, 1.0])
def test_percentile_matches_numpy_linear(n: int, q: float) -> None:
    values = sorted(random.Random(n).uniform(0, 100) for _ in range(n))
    assert pc.percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)))


def test_percentile_rejects_empty_and_bad_q() -> None:
    with pytest.raises(ValueError):
        pc.percentile([], 0.5)
    with pytest.raises(ValueError):
        pc.percentile([1.0], 1.5)


def test_summarize_ms() -> None:
    summary = pc.summarize_ms([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert summary == {"p50": 50.5, "p95": 95.05, "p99": 99.01, "max": 100.0, "n": 100}
    assert pc.summarize_ms([])["n"] == 0


@pytest.mark.parametrize("seq", [0, 1, 499, 32766, 32767, 100_000])
def test_marker_survives_the_echo_resampling(seq: int) -> None:
    chunk = am.marker_chunk(seq)
    assert len(chunk) == am.IN_CHUNK_BYTES
    echo = upsample_16k_to_24k(chunk)
    assert len(echo) == am.OUT_CHUNK_BYTES
    markers, half = am.chunk_markers(echo, 0, None)
    assert markers == [am.marker_value(seq)] and half is None
    reply = outbound.audio_chunk(echo).encode()
    assert am.json_audio_marker(reply) == am.marker_value(seq)


def test_json_audio_marker_ignores_other_messages() -> None:
    assert am.json_audio_marker(b'{"setupComplete":{}}') is None


def test_chunk_markers_handle_split_and_coalesced_frames() -> None:
    stream = b"".join(upsample_16k_to_24k(am.marker_chunk(s)) for s in range(6))
    for cuts in ([960, 1920], [959, 1921, 3000], [1, 961, 2881, 2882], [5760]):
        got: list[int] = []
        rx, half, start = 0, None, 0
        for end in [*cuts, len(stream)]:
            frame = stream[start:end]
            markers, half = am.chunk_markers(frame, rx, half)
            got += markers
            rx += len(frame)
            start = end
        assert got == [am.marker_value(s) for s in range(6)], cuts


def test_seq_tracker_counts_losses_and_bad_markers() -> None:
    t = am.SeqTracker()
    assert t.match(am.marker_value(0), sent=5) == 0
    assert t.match(am.marker_value(3), sent=5) == 3  # 1 and 2 lost
    assert t.lost == 2
    assert t.match(am.marker_value(4), sent=4) is None  # not sent yet
    assert t.match(0, sent=5) is None  # silence is not a marker
    assert t.bad == 2 and t.received == 2


def test_seq_tracker_wraps_around() -> None:
    t = am.SeqTracker()
    for seq in range(am.MARKER_MOD + 10):
        assert t.match(am.marker_value(seq), sent=seq + 1) == seq
    assert t.lost == 0 and t.bad == 0


def _unmask(frame: bytes) -> tuple[int, bytes]:
    size, at = frame[1] & 0x7F, 2
    if size == 126:
        size, at = int.from_bytes(frame[2:4], "big"), 4
    key, body = frame[at : at + 4], frame[at + 4 :]
    assert len(body) == size and frame[1] & 0x80
    return frame[0], bytes(b ^ key[i % 4] for i, b in enumerate(body))


@pytest.mark.parametrize("size", [0, 3, 125, 126, 640, 65535])
def test_client_frame_is_masked_and_decodes(size: int) -> None:
    payload = bytes(random.Random(size).randrange(256) for _ in range(size))
    head, body = _unmask(ws.client_frame(ws.OP_BINARY, payload))
    assert head == 0x80 | ws.OP_BINARY and body == payload


def test_prebuilt_frames_carry_markers() -> None:
    _, body = _unmask(am.proxied_frames(3)[2])
    assert body == am.marker_chunk(2)
    _, text = _unmask(am.direct_frames(3)[1])
    assert am.json_audio_marker(text) == am.marker_value(1)


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def close(self) -> None:
        self.closed = True


async def test_ws_client_handshake_frames_ping_and_close() -> None:
    got: list[tuple[bytes, bool]] = []
    client = ws.WsClient("h", 1, "/ws", lambda p, text, _now: got.append((bytes(p), text)))
    transport = _Transport()
    client.connection_made(transport)
    request = transport.written[0].decode()
    key = request.split("Sec-WebSocket-Key: ")[1].split("\r\n")[0].encode()
    accept = base64.b64encode(hashlib.sha1(key + ws._WS_GUID).digest()).decode()
    response = f"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    binary = bytes((0x82, 126)) + (960).to_bytes(2, "big") + bytes(960)
    stream = (
        response.encode()
        + bytes((0x81, 2))
        + b"{}"
        + binary
        + bytes((0x01, 1))  # a fragmented text message
        + b"a"
        + bytes((0x80, 1))
        + b"b"
        + bytes((0x89, 1))  # ping
        + b"p"
        + bytes((0x88, 2))
        + (1000).to_bytes(2, "big")
    )
    for i in range(0, len(stream), 7):  # arbitrary TCP segmentation
        client.data_received(stream[i : i + 7])
    assert client.opened.done() and client.opened.exception() is None
    assert got == [(b"{}", True), (bytes(960), False), (b"ab", True)]
    pong = [f for f in transport.written if f[0] == 0x80 | ws.OP_PONG]
    assert _unmask(pong[0])[1] == b"p"
    assert client.close_code == 1000 and client.closed_by_server and transport.closed


def test_metric_value_and_passes() -> None:
    text = "# HELP x\nliveavatar_active_sessions 0.0\nliveavatar_dropped_audio_chunks_total 3.0\n"
    assert metric_value(text, "liveavatar_dropped_audio_chunks_total") == 3.0
    assert metric_value(text, "missing") is None
    good = {
        "added_ms": {"p95": 4.0},
        "chunks_sent": {"proxied": 10_000},
        "errors": 0,
        "dropped_chunks": 10,
    }
    assert passes(good, 20.0)
    assert not passes(good | {"errors": 1}, 20.0)
    assert not passes(good | {"added_ms": {"p95": 25.0}}, 20.0)
    assert not passes(good | {"dropped_chunks": 11}, 20.0)
