"""End-of-turn decisions of both turn detections on the same spoken utterances.

`python -m bench.turn_detection --json` synthesises a fixed set of utterances with
espeak-ng (several voices and rates; some with a 400-700 ms pause mid-sentence, "I'd like
to book ... a table for two"), streams each in 20 ms chunks through each detector, as fast
as the CPU allows (the detectors keep their own stream clocks), and notes at which stream
position it decided the user had finished:

- `server`: the emulator's model of Live's automatic activity detection (webrtcvad plus an
  energy gate, `emulator/vad.py`) with the persona's default `vad` settings (end
  sensitivity HIGH, 300 ms silence). Live's own detector is not reachable from here; this
  is the same rule the emulator applies to every `server` session;
- `smart`: `turn/detector.py` with the persona's default `smart_turn` settings.

Per mode: `premature_end_rate` (the turn ended before the utterance did: a reply would
start in the user's pause), `missed_end_rate` (no end within the trailing
`TAIL_MS` of silence), `end_delay_ms` p50/p95 (end of speech → end of turn decided, over
the utterances not ended prematurely, the deciding chunk's processing time included:
`deciding_chunk_ms`), and for `smart` its CPU (thread time) per second
of audio and per model judgement. `--sweep` adds `smart` at other settings, to choose
the defaults from. Utterances are trimmed to their loud part (-40 dBFS), so the end of
speech is known to the 20 ms frame.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from liveavatar.audio.pcm import resample
from liveavatar.emulator.vad import SpeechEnded, StreamingVad, VadConfig
from liveavatar.live.persona import VadSettings
from liveavatar.turn import models
from liveavatar.turn.detector import Ended, TurnDetector
from liveavatar.turn.settings import TurnSettings

from ._loadgen import percentile


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of `values`, None when there are none."""
    return round(percentile(sorted(values), q / 100), 1) if values else None


RATE = 16_000
CHUNK_MS = 20
LEAD_MS = 500
TAIL_MS = 2_500
VOICES = ["en-us", "en-gb", "en+f3", "en-us+klatt4", "en+m3"]
SPEEDS = [140, 165, 190]
COMPLETE = [
    "what is the weather like in paris today",
    "can you tell me a joke",
    "what time does the museum open on sunday",
    "my name is john and I live in london",
    "please turn off the lights in the kitchen",
    "how far is the moon from the earth",
    "I would like to order a large pizza",
    "thank you very much for your help",
    "who painted the mona lisa",
    "set an alarm for seven in the morning",
    "what is the capital of australia",
    "tell me something interesting about octopuses",
    "how do I get to the train station",
    "I need a table for two at eight",
    "what is your favourite colour",
    "can you recommend a good book",
    "remind me to call my mother tomorrow",
    "how many people live in tokyo",
    "what should I cook for dinner tonight",
    "play some relaxing music please",
]
# (before the pause, after it, pause ms): the pause sits where people hesitate.
PAUSED = [
    ("I would like to book", "a table for two", 450),
    ("can you tell me", "how to get to the airport", 500),
    ("what I really want is", "a cup of coffee", 600),
    ("my favourite city is", "probably barcelona", 550),
    ("I was wondering if", "you could help me with my homework", 650),
    ("the thing is", "I forgot my password", 700),
    ("could you please", "read me the news", 400),
    ("I think the answer is", "forty two", 500),
    ("let me think about", "what I want for lunch", 650),
    ("so my question is", "why is the sky blue", 450),
    ("I need to", "buy milk eggs and bread", 600),
    ("tomorrow I am going to", "visit my grandmother", 550),
]


@dataclass(frozen=True)
class Utterance:
    text: str
    voice: str
    speed: int
    pcm: bytes  # lead silence, speech (with its pause), tail silence
    speech_end_ms: int
    pause: tuple[int, int] | None  # start and end of the mid-sentence pause


def espeak(text: str, voice: str, speed: int) -> bytes:
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
        timeout=30,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    return trim(resample(frames, rate, RATE))


def trim(pcm: bytes, threshold_dbfs: float = -40.0) -> bytes:
    """The part from the first to the last 20 ms frame above `threshold_dbfs`."""
    frame = RATE * CHUNK_MS // 1000
    samples = np.frombuffer(pcm[: len(pcm) // (2 * frame) * 2 * frame], dtype="<i2")
    power = np.mean(samples.astype(np.float64).reshape(-1, frame) ** 2, axis=1)
    loud = np.flatnonzero(power >= (32768.0 * 10.0 ** (threshold_dbfs / 20.0)) ** 2)
    return samples[loud[0] * frame : (loud[-1] + 1) * frame].tobytes()


def silence(ms: int) -> bytes:
    return bytes(2 * RATE * ms // 1000)


def ms(pcm: bytes) -> int:
    return len(pcm) * 1000 // (2 * RATE)


def corpus(complete: int = len(COMPLETE), paused: int = len(PAUSED)) -> list[Utterance]:
    """`complete` utterances without a pause and `paused` with one, voices and rates
    taken in turn."""
    out: list[Utterance] = []
    for i, text in enumerate(COMPLETE[:complete]):
        voice, speed = VOICES[i % len(VOICES)], SPEEDS[i % len(SPEEDS)]
        speech = espeak(text, voice, speed)
        pcm = silence(LEAD_MS) + speech + silence(TAIL_MS)
        out.append(Utterance(text, voice, speed, pcm, LEAD_MS + ms(speech), None))
    for i, (first, second, pause_ms) in enumerate(PAUSED[:paused]):
        voice, speed = VOICES[(i + 2) % len(VOICES)], SPEEDS[(i + 1) % len(SPEEDS)]
        a, b = espeak(first, voice, speed), espeak(second, voice, speed)
        pause_at = LEAD_MS + ms(a)
        speech = a + silence(pause_ms) + b
        pcm = silence(LEAD_MS) + speech + silence(TAIL_MS)
        text = f"{first} ... {second}"
        pause = (pause_at, pause_at + pause_ms)
        out.append(Utterance(text, voice, speed, pcm, LEAD_MS + ms(speech), pause))
    return out


# A detector: fed one chunk, says whether the turn ended in it.
Feed = Callable[[bytes], bool]


def server_detector() -> Feed:
    vad = VadSettings()
    detector = StreamingVad(
        VadConfig(
            start_sensitivity=vad.start_sensitivity,
            end_sensitivity=vad.end_sensitivity,
            prefix_padding_ms=vad.prefix_padding_ms,
            silence_duration_ms=vad.silence_duration_ms,
        )
    )
    return lambda chunk: any(isinstance(e, SpeechEnded) for e in detector.process(chunk))


@dataclass(frozen=True)
class Decision:
    """Where in the stream the end was decided (`at_ms`): the end of the chunk that decided
    it plus `took_ms`, the wall time that chunk's processing took (the smart-turn model
    runs in it; in the backend `activityEnd` is not sent before it returns)."""

    at_ms: float
    took_ms: float


def first_end(feed: Feed, pcm: bytes) -> Decision | None:
    step = 2 * RATE * CHUNK_MS // 1000
    for at in range(0, len(pcm), step):
        started = time.perf_counter()
        if feed(pcm[at : at + step]):
            took_ms = 1000 * (time.perf_counter() - started)
            return Decision((at + step) * 1000 / (2 * RATE) + took_ms, took_ms)
    return None


def score(decisions: list[tuple[Utterance, Decision | None]]) -> dict[str, Any]:
    ends = [(u, d.at_ms if d else None) for u, d in decisions]
    premature = [u.text for u, end in ends if end is not None and end < u.speech_end_ms]
    missed = [u.text for u, end in ends if end is None]
    delays = [end - u.speech_end_ms for u, end in ends if end and end >= u.speech_end_ms]
    took = [d.took_ms for _, d in decisions if d is not None]
    paused = [(u, end) for u, end in ends if u.pause is not None]
    return {
        "utterances": len(ends),
        "premature_end_rate": round(len(premature) / len(ends), 3),
        "premature_in_pause_rate": round(
            sum(1 for u, end in paused if end is not None and end < u.speech_end_ms)
            / max(1, len(paused)),
            3,
        ),
        "missed_end_rate": round(len(missed) / len(ends), 3),
        "end_delay_ms": {"p50": pct(delays, 50), "p95": pct(delays, 95), "n": len(delays)},
        # Of which the deciding chunk's processing (the model's inference, for `smart`).
        "deciding_chunk_ms": {"p50": pct(took, 50), "p95": pct(took, 95)},
        "premature": premature,
    }


def run_server(utterances: Sequence[Utterance]) -> dict[str, Any]:
    return score([(u, first_end(server_detector(), u.pcm)) for u in utterances])


def run_smart(utterances: Sequence[Utterance], settings: TurnSettings) -> dict[str, Any]:
    shared = models.shared()
    ends: list[tuple[Utterance, Decision | None]] = []
    cpu_s = audio_s = 0.0
    judgements = 0
    for u in utterances:
        detector = TurnDetector(shared, settings)

        def feed(chunk: bytes, detector: TurnDetector = detector) -> bool:
            return any(isinstance(e, Ended) for e in detector.process(chunk))

        ends.append((u, first_end(feed, u.pcm)))
        cpu_s += detector.cpu_s
        audio_s += len(u.pcm) / (2 * RATE)
        judgements += detector.judgements
    result = score(ends)
    result["settings"] = {
        "short_silence_ms": settings.short_silence_ms,
        "max_silence_ms": settings.max_silence_ms,
        "threshold": settings.threshold,
    }
    result["cpu_ms_per_audio_s"] = round(1000 * cpu_s / audio_s, 2)
    result["judgements"] = judgements
    return result


def model_ms(repeats: int = 10) -> dict[str, Any]:
    """Wall time of one smart-turn judgement (8 s of features), this process alone."""
    shared = models.shared()
    audio = np.zeros(RATE * 3, dtype=np.float32)
    shared.end_probability(audio)  # the first run allocates
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        shared.end_probability(audio)
        times.append(1000 * (time.perf_counter() - start))
    return {"p50": pct(times, 50), "p95": pct(times, 95)}


SWEEP = [
    TurnSettings(short_silence_ms=short, max_silence_ms=1000, threshold=threshold)
    for short in (96, 128, 160)
    for threshold in (0.5, 0.7, 0.9)
] + [TurnSettings(short_silence_ms=128, max_silence_ms=m, threshold=0.5) for m in (600, 800)]


def run(complete: int, paused: int, sweep: bool) -> dict[str, Any]:
    utterances = corpus(complete, paused)
    result: dict[str, Any] = {
        "utterances": len(utterances),
        "with_pause": sum(1 for u in utterances if u.pause),
        "voices": sorted({u.voice for u in utterances}),
        "speeds": sorted({u.speed for u in utterances}),
        "server": run_server(utterances),
        "smart": run_smart(utterances, TurnSettings()),
        "model_ms": model_ms(),
    }
    if sweep:
        result["sweep"] = [run_smart(utterances, s) for s in SWEEP]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--complete", type=int, default=len(COMPLETE), help="without a pause")
    parser.add_argument("--paused", type=int, default=len(PAUSED), help="with a pause")
    parser.add_argument("--sweep", action="store_true", help="smart at other settings too")
    parser.add_argument("--detail", action="store_true", help="keep the lists of texts")
    args = parser.parse_args(argv)
    result = run(args.complete, args.paused, args.sweep)
    if not args.detail:
        for mode in (result["server"], result["smart"], *result.get("sweep", [])):
            mode.pop("premature")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
