"""End-of-turn decisions of both turn detections on the same spoken utterances.

`python -m bench.turn_detection --json` synthesises a fixed set of utterances in two
corpora, each scored on its own (`bench/_speech.py`): `piper`, a neural voice trained on
a human speaker's recordings (natural prosody; three speaking rates), and `espeak`,
espeak-ng's formant voices (six voices and rates). Some utterances hold a 400-700 ms
pause mid-sentence ("I'd like to book ... a table for two"), inserted into one rendering
of the whole sentence. Each utterance is streamed in 20 ms chunks through each detector
as fast as the CPU allows, and the end is placed on a real-time clock: a chunk is
processed once its audio has arrived and the chunks before it are done.

- `server`: the emulator's model of Live's automatic activity detection (webrtcvad plus an
  energy gate, `emulator/vad.py`) with the persona's default `vad` settings (end
  sensitivity HIGH, 300 ms silence). Live's own detector is not reachable from here; this
  is the same rule the emulator applies to every `server` session;
- `smart`: `turn/detector.py` with the persona's default `smart_turn` settings.

Per corpus and mode: `premature_end_rate` (the turn ended before the utterance did: a
reply would start in the user's pause), `missed_end_rate` (no end within the trailing
`TAIL_MS` of silence), `end_delay_ms` p50/p95 (end of speech → end of turn decided, over
the utterances not ended prematurely, each chunk's processing counted as the CPU time it
took, as on a core of its own; `end_delay_wall_ms` counts wall time on this machine
instead; `deciding_chunk_ms` is the deciding chunk's own CPU time), and for `smart` its
CPU (thread time) per second of audio and the model's judgements per utterance. `--sweep`
adds `smart` at other settings (and other values of the detector's internal constants), to
choose the defaults from; `model_ms` is one judgement's wall time. Utterances are trimmed
to their loud part (-40 dBFS), so the end of speech is known to the 20 ms frame."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from liveavatar.emulator.vad import SpeechEnded, StreamingVad, VadConfig
from liveavatar.live.persona import VadSettings
from liveavatar.turn import models
from liveavatar.turn.detector import (
    ASSUMED_SILENCE_MS,
    SILENCE_P,
    SPECULATE_MS,
    Ended,
    TurnDetector,
)
from liveavatar.turn.settings import TurnSettings

from . import _speech
from ._percentiles import percentile


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) of `values`, None when there are none."""
    return round(percentile(sorted(values), q / 100), 1) if values else None


RATE = _speech.RATE
CHUNK_MS = 20
LEAD_MS = 500
TAIL_MS = 2_500
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
    pcm: bytes  # lead silence, speech (with its pause), tail silence
    speech_end_ms: int
    pause: tuple[int, int] | None  # start and end of the mid-sentence pause


def corpus(
    engine: _speech.Engine, complete: int = len(COMPLETE), paused: int = len(PAUSED)
) -> list[Utterance]:
    """`complete` utterances without a pause and `paused` with one, spoken by `engine`'s
    voices and rates in turn."""
    voices = _speech.VOICE_SETS[engine]
    lead, tail = _speech.silence(LEAD_MS), _speech.silence(TAIL_MS)
    out: list[Utterance] = []
    for i, text in enumerate(COMPLETE[:complete]):
        voice = voices[i % len(voices)]
        speech = voice.say(text)
        end = LEAD_MS + _speech.ms(speech)
        out.append(Utterance(text, voice.label, lead + speech + tail, end, None))
    for i, (first, second, pause_ms) in enumerate(PAUSED[:paused]):
        voice = voices[(i + 1) % len(voices)]
        speech, pause_at = _speech.paused(voice, first, second, pause_ms)
        pause = (LEAD_MS + pause_at, LEAD_MS + pause_at + pause_ms)
        end = LEAD_MS + _speech.ms(speech)
        text = f"{first} ... {second}"
        out.append(Utterance(text, voice.label, lead + speech + tail, end, pause))
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
    """Where in the stream the end was decided, on a real-time clock: each chunk is
    processed once it has arrived (the end of its audio) and once the chunks before it
    are done, as the backend's one call at a time per session does. `at_ms` counts each
    chunk's processing as the CPU time it took (a core of its own), `at_wall_ms` as the
    wall time it took on this machine at this load. `took_ms` is the deciding chunk's own
    CPU time (in the backend `activityEnd` is not sent before it returns)."""

    at_ms: float
    at_wall_ms: float
    took_ms: float


def first_end(feed: Feed, pcm: bytes) -> Decision | None:
    step = 2 * RATE * CHUNK_MS // 1000
    cpu_clock = wall_clock = 0.0  # when the detector is free again, ms of stream time
    for at in range(0, len(pcm), step):
        wall, cpu = time.perf_counter(), time.thread_time()
        ended = feed(pcm[at : at + step])
        took_ms = 1000 * (time.thread_time() - cpu)
        arrived = (at + step) * 1000 / (2 * RATE)
        cpu_clock = max(cpu_clock, arrived) + took_ms
        wall_clock = max(wall_clock, arrived) + 1000 * (time.perf_counter() - wall)
        if ended:
            return Decision(cpu_clock, wall_clock, took_ms)
    return None


def score(decisions: list[tuple[Utterance, Decision | None]]) -> dict[str, Any]:
    ends = [(u, d) for u, d in decisions]
    premature = [u.text for u, d in ends if d is not None and d.at_ms < u.speech_end_ms]
    missed = [u.text for u, d in ends if d is None]
    timely = [(u, d) for u, d in ends if d is not None and d.at_ms >= u.speech_end_ms]
    delays = [d.at_ms - u.speech_end_ms for u, d in timely]
    wall = [d.at_wall_ms - u.speech_end_ms for u, d in timely]
    took = [d.took_ms for _, d in decisions if d is not None]
    paused = [(u, d) for u, d in ends if u.pause is not None]
    return {
        "utterances": len(ends),
        "premature_end_rate": round(len(premature) / len(ends), 3),
        "premature_in_pause_rate": round(
            sum(1 for u, d in paused if d is not None and d.at_ms < u.speech_end_ms)
            / max(1, len(paused)),
            3,
        ),
        "missed_end_rate": round(len(missed) / len(ends), 3),
        "end_delay_ms": {"p50": pct(delays, 50), "p95": pct(delays, 95), "n": len(delays)},
        # The same ends with each chunk's wall time on this (shared) machine.
        "end_delay_wall_ms": {"p50": pct(wall, 50), "p95": pct(wall, 95)},
        # Of which the deciding chunk's processing (CPU time).
        "deciding_chunk_ms": {"p50": pct(took, 50), "p95": pct(took, 95)},
        "premature": premature,
    }


def run_server(utterances: Sequence[Utterance]) -> dict[str, Any]:
    return score([(u, first_end(server_detector(), u.pcm)) for u in utterances])


@dataclass(frozen=True)
class SmartConfig:
    """`settings` (the persona's knobs) plus the detector's internal constants that the
    sweep varies (`turn/detector.py`)."""

    settings: TurnSettings
    speculate_ms: int = SPECULATE_MS
    silence_p: float = SILENCE_P
    assumed_silence_ms: int = ASSUMED_SILENCE_MS


def run_smart(utterances: Sequence[Utterance], config: SmartConfig) -> dict[str, Any]:
    shared = models.shared()
    ends: list[tuple[Utterance, Decision | None]] = []
    cpu_s = audio_s = 0.0
    judgements = 0
    for u in utterances:
        detector = TurnDetector(
            shared,
            config.settings,
            speculate_ms=config.speculate_ms,
            silence_p=config.silence_p,
            assumed_silence_ms=config.assumed_silence_ms,
        )

        def feed(chunk: bytes, detector: TurnDetector = detector) -> bool:
            return any(isinstance(e, Ended) for e in detector.process(chunk))

        ends.append((u, first_end(feed, u.pcm)))
        cpu_s += detector.cpu_s
        audio_s += len(u.pcm) / (2 * RATE)
        judgements += detector.judgements
    result = score(ends)
    settings = config.settings
    result["settings"] = {
        "short_silence_ms": settings.short_silence_ms,
        "max_silence_ms": settings.max_silence_ms,
        "threshold": settings.threshold,
        "speculate_ms": config.speculate_ms,
        "silence_p": config.silence_p,
        "assumed_silence_ms": config.assumed_silence_ms,
    }
    result["cpu_ms_per_audio_s"] = round(1000 * cpu_s / audio_s, 2)
    result["judgements_per_utterance"] = round(judgements / len(utterances), 2)
    return result


def model_ms(repeats: int = 10) -> dict[str, Any]:
    """One smart-turn judgement (8 s of features): wall time at this machine's load, and
    the CPU time it took (`cpu_p50`)."""
    shared = models.shared()
    audio = np.zeros(RATE * 3, dtype=np.float32)
    shared.end_probability(audio)  # the first run allocates
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        shared.end_probability(audio)
        times.append(1000 * (time.perf_counter() - start))
        cpu.append(1000 * (time.thread_time() - start_cpu))
    return {"p50": pct(times, 50), "p95": pct(times, 95), "cpu_p50": pct(cpu, 50)}


def _config(
    short: int = 96,
    max_silence: int = 800,
    threshold: float = 0.7,
    speculate: int = SPECULATE_MS,
    silence_p: float = SILENCE_P,
    assumed: int = ASSUMED_SILENCE_MS,
) -> SmartConfig:
    settings = TurnSettings(short, max_silence, threshold)
    return SmartConfig(settings, speculate, silence_p, assumed)


SWEEP = [
    # Before speculation: the model asked once the short silence had elapsed.
    _config(128, 800, 0.5, speculate=128),
    # The threshold.
    *(_config(96, 800, threshold) for threshold in (0.5, 0.9)),
    # The short silence.
    *(_config(short, 800, 0.7) for short in (64, 128)),
    # Asked one window later; asked with zeros standing for 200 ms of silence.
    _config(96, 800, 0.7, speculate=64),
    _config(96, 800, 0.7, assumed=200),
    # Silero's speech-to-silence threshold: the tail after the last syllable.
    _config(96, 800, 0.7, silence_p=0.65),
    # The maximum silence.
    _config(96, 1000, 0.7),
]


def run_corpus(utterances: Sequence[Utterance], sweep: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "utterances": len(utterances),
        "with_pause": sum(1 for u in utterances if u.pause),
        "voices": sorted({u.voice for u in utterances}),
        "server": run_server(utterances),
        "smart": run_smart(utterances, SmartConfig(TurnSettings())),
    }
    if sweep:
        result["sweep"] = [run_smart(utterances, c) for c in SWEEP]
    return result


def run(
    engines: Sequence[_speech.Engine], complete: int, paused: int, sweep: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {
        engine: run_corpus(corpus(engine, complete, paused), sweep) for engine in engines
    }
    result["model_ms"] = model_ms()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument(
        "--voices",
        nargs="+",
        choices=list(_speech.VOICE_SETS),
        default=list(_speech.VOICE_SETS),
        help="the corpora, each scored on its own",
    )
    parser.add_argument("--complete", type=int, default=len(COMPLETE), help="without a pause")
    parser.add_argument("--paused", type=int, default=len(PAUSED), help="with a pause")
    parser.add_argument("--sweep", action="store_true", help="smart at other settings too")
    parser.add_argument("--detail", action="store_true", help="keep the lists of texts")
    args = parser.parse_args(argv)
    result = run(args.voices, args.complete, args.paused, args.sweep)
    if not args.detail:
        for engine in args.voices:
            corpus_result = result[engine]
            for mode in (
                corpus_result["server"],
                corpus_result["smart"],
                *corpus_result.get("sweep", []),
            ):
                mode.pop("premature")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
