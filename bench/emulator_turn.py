"""Emulator turn latency: end of user speech to the first reply audio byte at the client.

`python -m bench.emulator_turn --json` starts `liveavatar emulator` as a child process,
streams espeak-ng speech to it in real-time 20 ms chunks over TLS, and prints one JSON
object: `end_of_speech_to_first_audio_ms` (p50/p95 over the turns), `stt_cpu_per_audio_s`
(CPU seconds of recognition per second of audio, measured in this process on the same
phrases), `tts_first_chunk_ms` (p50/p95 from starting synthesis to its first 24 kHz chunk).
With `--tools` the sessions also declare three functions and it adds
`end_of_speech_to_tool_call_ms`: spoken requests for them, timed to the `toolCall`.
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

import numpy as np
from websockets.asyncio.client import connect

from liveavatar.audio.pcm import encode_base64, resample, silence
from liveavatar.child_lifetime import sigterm_as_interrupt
from liveavatar.emulator.script import DEFAULT_SCRIPT
from liveavatar.emulator.stt import RecognizerPool
from liveavatar.emulator.tls import client_context
from liveavatar.emulator.tts import EspeakVoice, Synthesizer

from ._emulator_proc import emulator_process

PHRASES = [
    "what time is it",
    "hello there",
    "tell me a joke",
    "how are you today",
    "good morning",
    "what is your name",
    "what is the date",
    "thank you",
    "what do you see",
    "goodbye",
]
TOOL_REQUESTS = [
    "what is the weather like in paris",
    "set a timer for twenty five minutes",
    "look up the latest order for david",
]
TOOLS = [
    {
        "functionDeclarations": [
            {
                "name": "get_weather",
                "description": "Get the current weather for a city",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"city": {"type": "STRING"}},
                    "required": ["city"],
                },
            },
            {
                "name": "set_timer",
                "description": "Start a countdown timer",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"minutes": {"type": "INTEGER"}},
                    "required": ["minutes"],
                },
            },
            {
                "name": "lookup_order",
                "description": "Look up a customer's latest order",
                "parameters": {
                    "type": "OBJECT",
                    "properties": {"customer_name": {"type": "STRING"}},
                    "required": ["customer_name"],
                },
            },
        ]
    }
]
PATH = "/ws/google.ai.generativelanguage.v1.GenerativeService.BidiGenerateContent"
SPEAKER = EspeakVoice("en-us+klatt4", 50, 160)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": round(statistics.median(ordered), 1), "p95": pick(0.95), "n": len(ordered)}


async def speech_16k(synth: Synthesizer, text: str) -> bytes:
    """The utterance at 16 kHz, trimmed to its loud part so its end is the end of speech."""
    pcm = resample(await synth.synthesize(text, SPEAKER), 24_000, 16_000)
    loud = np.flatnonzero(np.abs(np.frombuffer(pcm, dtype="<i2")) > 0.02 * 32768)
    return pcm[2 * int(loud[0]) : 2 * (int(loud[-1]) + 1)]


async def one_turn(url: str, cert_dir: Path, speech: bytes, *, tools: bool = False) -> float:
    """Stream one utterance; return ms from its last sample to the first reply audio (or,
    with ``tools``, to the tool call)."""
    lead, tail = silence(500, 16_000), silence(1500, 16_000)
    pcm = lead + speech + tail
    n_chunks = len(pcm) // 640
    speech_end_chunk = (len(lead) + len(speech)) / 640
    loop = asyncio.get_running_loop()
    async with connect(url + PATH, ssl=client_context(cert_dir), max_size=2**20) as ws:
        setup: dict[str, Any] = {"model": "models/gemini-3.8-live"}
        if tools:
            setup["tools"] = TOOLS
        await ws.send(json.dumps({"setup": setup}))
        marker = b'"toolCall"' if tools else b'"inlineData"'
        await ws.recv()
        first_audio: asyncio.Future[float] = loop.create_future()

        async def read() -> None:
            async for frame in ws:
                if marker in (frame if isinstance(frame, bytes) else frame.encode()):
                    if not first_audio.done():
                        first_audio.set_result(loop.time())
                    return

        reader = asyncio.create_task(read(), name="bench-reader")
        start = loop.time()
        for i in range(n_chunks):
            chunk = pcm[i * 640 : (i + 1) * 640]
            msg = {
                "realtimeInput": {
                    "audio": {"mimeType": "audio/pcm;rate=16000", "data": encode_base64(chunk)}
                }
            }
            await ws.send(json.dumps(msg))
            delay = start + (i + 1) * 0.02 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if first_audio.done():
                break
        async with asyncio.timeout(10):
            heard_at = await first_audio
        reader.cancel()
        speech_end = start + speech_end_chunk * 0.02
        return (heard_at - speech_end) * 1000


def stt_cpu(pool: RecognizerPool, utterances: list[bytes]) -> float:
    phrases = DEFAULT_SCRIPT.phrases()
    cpu = 0.0
    audio_s = 0.0
    for pcm in utterances:
        t = pool.transcriber(phrases)
        c0 = time.thread_time()
        for i in range(0, len(pcm), 640):
            t.feed(pcm[i : i + 640])
        t.finish()
        cpu += time.thread_time() - c0
        t.close()
        audio_s += len(pcm) / 32_000
    return round(cpu / audio_s, 4)


async def tts_first_chunk(synth: Synthesizer, voice: EspeakVoice) -> float:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async for _ in synth.stream("It is a quarter past three in the afternoon.", voice):
        first = loop.time()
        break
    return (first - t0) * 1000


async def main(turns: int, with_tools: bool = False) -> dict[str, Any]:
    synth = Synthesizer()
    utterances = [await speech_16k(synth, p) for p in PHRASES]
    tts = [await tts_first_chunk(synth, SPEAKER) for _ in range(20)]
    pool = RecognizerPool()
    try:
        pool.warm_up()
        cpu = stt_cpu(pool, utterances)
    finally:
        pool.close()
    with tempfile.TemporaryDirectory() as tmp:
        async with emulator_process(Path(tmp)) as url:
            latencies = [
                await one_turn(url, Path(tmp), utterances[i % len(utterances)])
                for i in range(turns)
            ]
            requests = [await speech_16k(synth, p) for p in TOOL_REQUESTS] if with_tools else []
            tool_latencies = [
                await one_turn(url, Path(tmp), requests[i % len(requests)], tools=True)
                for i in range(turns if with_tools else 0)
            ]
    extra = {"end_of_speech_to_tool_call_ms": percentiles(tool_latencies)} if with_tools else {}
    return {
        "end_of_speech_to_first_audio_ms": percentiles(latencies),
        **extra,
        "stt_cpu_per_audio_s": cpu,
        "tts_first_chunk_ms": percentiles(tts),
        "turns": turns,
        "vad": "default (END_SENSITIVITY_HIGH, 300 ms silence)",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--tools", action="store_true", help="also time spoken tool requests")
    args = parser.parse_args()
    with sigterm_as_interrupt():
        result = asyncio.run(main(max(args.turns, 10), args.tools))
    print(json.dumps(result))
