"""Emulator live-avatar cost: CPU per second of video, bitrate, time to the first media.

`python -m bench.emulator_avatar --json` first encodes espeak-ng speech of the reply
script's phrases as a session's encoder thread does (the face drawn per frame, H.264, AAC,
fMP4 fragments of half a second) in this process, and reports
`encode_cpu_ms_per_video_s` (CPU of that thread per second of video), `video_s` and
`kbit_per_s`. Then it starts `liveavatar emulator` as a child process and asks typed
questions in a live-avatar session and in an audio session, and reports `first_media_ms`
for each (p50/p95): from sending the question to the first `modelTurn` part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from liveavatar.child_lifetime import sigterm_as_interrupt
from liveavatar.emulator.avatar_encoder import FPS, FRAME_BYTES, AvatarEncoder
from liveavatar.emulator.face import Face
from liveavatar.emulator.tls import client_context
from liveavatar.emulator.tts import Synthesizer, voice_for

from ._emulator_proc import emulator_process

PATH = "/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent"
MODEL = "projects/p/locations/us-central1/publishers/google/models/gemini-3.8-live"
QUESTIONS = ["hello", "what is your name", "tell me a joke", "how are you today", "thank you"]
REPLIES = [
    "Hello! I am Ava. How can I help you today?",
    "Why did the scarecrow win an award? Because he was outstanding in his field.",
    "I am doing well, thank you for asking.",
    "You are welcome. It was a pleasure to talk with you today.",
]


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "n": len(ordered)}


def encode_cost(speech: bytes, rounds: int) -> dict[str, float]:
    """Encode `speech` `rounds` times as one session would, on this thread."""
    encoder = AvatarEncoder(Face(name="Kira"))
    fragment = 12 * FRAME_BYTES
    cpu = video_s = 0.0
    size = 0
    for _ in range(rounds):
        encoder.begin(encoder.next_frame + 3)
        start = time.thread_time()
        for offset in range(0, len(speech), fragment):
            last = offset + fragment >= len(speech)
            size += len(encoder.encode(speech[offset : offset + fragment], last=last))
        cpu += time.thread_time() - start
        video_s += -(-len(speech) // FRAME_BYTES) / FPS
    return {
        "encode_cpu_ms_per_video_s": round(cpu / video_s * 1000, 1),
        "video_s": round(video_s, 1),
        "kbit_per_s": round(size * 8 / video_s / 1000, 1),
    }


async def first_media(url: str, cert_dir: Path, *, video: bool, turns: int) -> list[float]:
    """Milliseconds from each typed question to the first part of its answer."""
    setup: dict[str, Any] = {"model": MODEL}
    if video:
        setup["generationConfig"] = {"responseModalities": ["VIDEO"]}
        setup["avatarConfig"] = {"avatarName": "Kira"}
    times: list[float] = []
    ssl = client_context(cert_dir)
    async with connect(url + PATH, ssl=ssl, max_size=2**22) as ws, asyncio.timeout(120):
        await ws.send(json.dumps({"setup": setup}))
        await ws.recv()
        for i in range(turns):
            start = time.perf_counter()
            first: float | None = None
            await ws.send(json.dumps({"realtimeInput": {"text": QUESTIONS[i % len(QUESTIONS)]}}))
            while True:
                frame = await ws.recv()
                raw = frame if isinstance(frame, bytes) else frame.encode()
                if first is None and b'"modelTurn"' in raw:
                    first = (time.perf_counter() - start) * 1000
                if b'"turnComplete"' in raw:
                    break
            assert first is not None, "an answer came"
            times.append(first)
    return times


async def main(rounds: int, turns: int) -> dict[str, Any]:
    synth = Synthesizer()
    voice = voice_for(None)
    speech = b"".join([await synth.synthesize(text, voice) for text in REPLIES])
    result: dict[str, Any] = await asyncio.to_thread(encode_cost, speech, rounds)
    with tempfile.TemporaryDirectory() as tmp:
        async with emulator_process(Path(tmp)) as url:
            for mode, video in (("video", True), ("audio", False)):
                times = await first_media(url, Path(tmp), video=video, turns=turns)
                result[f"first_media_ms_{mode}"] = percentiles(times)
    return result


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the speech is encoded")
    parser.add_argument("--turns", type=int, default=10, help="questions per session")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    with sigterm_as_interrupt():
        result = asyncio.run(main(args.rounds, args.turns))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    cli()
