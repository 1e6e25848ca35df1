"""The light echo peer: the emulator's echo, over the Live protocol the bridge uses."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from bench._audio_markers import json_audio_marker, marker_chunk, marker_value
from bench._echo_peer import echo_reply, start
from bench._loadgen import LIVE_PATH, Target, run_phase

from liveavatar.audio.pcm import upsample_16k_to_24k
from liveavatar.emulator.tls import client_context


def _audio_message(pcm: bytes, *, compact: bool) -> bytes:
    data = base64.b64encode(pcm).decode()
    doc = {"realtimeInput": {"audio": {"mimeType": "audio/pcm;rate=16000", "data": data}}}
    return json.dumps(doc, separators=(",", ":") if compact else None).encode()


def test_an_audio_chunk_comes_back_at_24k_as_model_audio() -> None:
    for seq, compact in ((0, True), (7, False), (31_000, True)):
        pcm = marker_chunk(seq)
        for _ in range(2):  # computed, then from the cache: the same reply
            reply = echo_reply(_audio_message(pcm, compact=compact))
            assert reply is not None
            part = json.loads(reply)["serverContent"]["modelTurn"]["parts"][0]["inlineData"]
            assert part["mimeType"] == "audio/pcm;rate=24000"
            assert base64.b64decode(part["data"]) == upsample_16k_to_24k(pcm)
            assert json_audio_marker(reply) == marker_value(seq)


def test_messages_without_audio_get_no_answer() -> None:
    assert echo_reply(b'{"realtimeInput":{"audioStreamEnd":true}}') is None
    assert echo_reply(b'{"realtimeInput":{"text":"hello"}}') is None
    assert echo_reply(b'{"clientContent":{"turns":[]}}') is None
    bad = b'{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"%%%"}}}'
    assert echo_reply(bad) is None


async def test_live_sessions_get_set_up_and_every_chunk_echoed(tmp_path: Path) -> None:
    server = await start(tmp_path)
    try:
        port = server.sockets[0].getsockname()[1]
        target = Target("direct", "127.0.0.1", port, LIVE_PATH, client_context(tmp_path))
        result = await run_phase(target, 3, 0.4, warmup_s=0.0, drain_timeout_s=5.0)
    finally:
        server.close()
    assert result.errors == {}
    assert result.connected == 3
    assert result.chunks_sent == result.chunks_received == 3 * 20
    assert result.server_messages["setupComplete"] == 3
