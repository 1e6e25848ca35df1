"""The end of an utterance (the microphone going off) is sent only as the backend accepts
it, by both Live clients alike: `audioStreamEnd` on the Gemini API with automatic activity
detection; `activityStart`/`activityEnd` around each utterance with manual detection;
trailing silence on Vertex (whose realtime input has no `audioStreamEnd`)."""

from __future__ import annotations

import base64
from typing import Any, Protocol

import pytest

from liveavatar.live.endpoint import setup_body
from liveavatar.live.persona import Persona, VadSettings, connect_config
from liveavatar.live.utterance import (
    MAX_SILENCE_MS,
    SILENCE_MARGIN_MS,
    EndBy,
    UtterancePolicy,
    policy_for,
)

from .wire import BACKENDS, Backend, Socket, camel_keys, open_raw, open_sdk

SPEECH = b"\x01\x02" * 320  # 20 ms


class Channel(Protocol):
    async def send_audio(self, pcm: bytes) -> None: ...
    async def audio_stream_end(self) -> None: ...
    async def close(self) -> None: ...


def realtime(sock: Socket) -> list[tuple[str, bytes]]:
    """What each realtime message after `setup` says, in one spelling and alphabet."""
    out: list[tuple[str, bytes]] = []
    for message in sock.messages()[1:]:
        body: dict[str, Any] = camel_keys(message)["realtimeInput"]
        ((kind, value),) = body.items()
        if kind == "audio":
            assert value["mimeType"] == "audio/pcm;rate=16000"
            out.append(
                (kind, base64.urlsafe_b64decode(value["data"].replace("+", "-").replace("/", "_")))
            )
        else:
            assert value in ({}, True)
            out.append((kind, b""))
    return out


async def talk(conn: Channel) -> None:
    """Mic off with nothing said, then two utterances, each ended by the mic going off."""
    await conn.audio_stream_end()
    for _ in range(2):
        await conn.send_audio(SPEECH)
        await conn.send_audio(SPEECH)
        await conn.audio_stream_end()
    await conn.close()


async def both(
    monkeypatch: pytest.MonkeyPatch, backend: Backend, persona: Persona
) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    raw_conn, raw_sock = await open_raw(
        monkeypatch, backend, persona.model, setup_body(persona, [], None)
    )
    await talk(raw_conn)
    sdk_conn, sdk_sock = await open_sdk(
        monkeypatch, backend, persona.model, connect_config(persona, [], None)
    )
    await talk(sdk_conn)
    return realtime(raw_sock), realtime(sdk_sock)


def silence(ms: int) -> list[tuple[str, bytes]]:
    return [("audio", bytes(min(3200, ms * 32 - at))) for at in range(0, ms * 32, 3200)]


async def test_gemini_with_automatic_detection_sends_audio_stream_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours, sdk = await both(monkeypatch, "gemini", Persona())
    utterance = [("audio", SPEECH), ("audio", SPEECH), ("audioStreamEnd", b"")]
    assert ours == sdk == [("audioStreamEnd", b""), *utterance, *utterance]


async def test_vertex_with_automatic_detection_ends_with_trailing_silence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    persona = Persona(vad=VadSettings(silence_duration_ms=800))
    ours, sdk = await both(monkeypatch, "vertex", persona)
    tail = silence(800 + SILENCE_MARGIN_MS)
    assert len(tail) == 11 and all(pcm == bytes(len(pcm)) for _, pcm in tail)
    utterance = [("audio", SPEECH), ("audio", SPEECH), *tail]
    assert ours == sdk == [*tail, *utterance, *utterance]
    assert all(kind == "audio" for kind, _ in ours)  # never audioStreamEnd on Vertex


@pytest.mark.parametrize("backend", BACKENDS)
async def test_manual_detection_brackets_each_utterance(
    monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    ours, sdk = await both(monkeypatch, backend, Persona(vad=VadSettings(disabled=True)))
    utterance = [
        ("activityStart", b""),
        ("audio", SPEECH),
        ("audio", SPEECH),
        ("activityEnd", b""),
    ]
    # The mic going off with nothing said sends nothing: there is no activity to end.
    assert ours == sdk == [*utterance, *utterance]


@pytest.mark.parametrize(
    ("vertex", "manual", "silence_ms", "expected"),
    [
        (False, False, 300, UtterancePolicy(EndBy.STREAM_END)),
        (False, True, 300, UtterancePolicy(EndBy.ACTIVITY_END)),
        (True, True, 300, UtterancePolicy(EndBy.ACTIVITY_END)),
        (True, False, 300, UtterancePolicy(EndBy.SILENCE, 300 + SILENCE_MARGIN_MS)),
        (True, False, None, UtterancePolicy(EndBy.SILENCE, 1000 + SILENCE_MARGIN_MS)),
        (True, False, 60_000, UtterancePolicy(EndBy.SILENCE, MAX_SILENCE_MS)),
    ],
)
def test_policy_per_backend_and_detection(
    vertex: bool, manual: bool, silence_ms: int | None, expected: UtterancePolicy
) -> None:
    assert policy_for(vertex=vertex, manual_vad=manual, silence_duration_ms=silence_ms) == expected
