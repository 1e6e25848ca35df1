"""Unit tests for streaming espeak-ng synthesis and the Gemini voice map."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from liveavatar.audio import pcm
from liveavatar.emulator import tts
from liveavatar.emulator.tts import (
    DEFAULT_VOICE,
    MAX_TEXT_CHARS,
    VOICES,
    EspeakVoice,
    SynthesisError,
    Synthesizer,
    UnknownVoiceError,
    sanitize_text,
    voice_for,
)

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

GEMINI_VOICES = """Achernar Achird Algenib Algieba Alnilam Aoede Autonoe Callirrhoe Charon Despina
Enceladus Erinome Fenrir Gacrux Iapetus Kore Laomedeia Leda Orus Pulcherrima Puck Rasalgethi
Sadachbia Sadaltager Schedar Sulafat Umbriel Vindemiatrix Zephyr Zubenelgenubi""".split()
CLASSIC = ["Puck", "Charon", "Kore", "Fenrir", "Aoede", "Leda", "Orus", "Zephyr"]
SENTENCE = "Hello there, it is a quarter past three in the afternoon."
# Far more audio than the pipe and stream buffers hold, so espeak-ng blocks until read.
LONG_TEXT = ("This sentence keeps espeak busy for a while. " * 44)[:MAX_TEXT_CHARS]


def _median_pitch_hz(audio: bytes, rate_hz: int = pcm.OUTPUT_RATE_HZ) -> float:
    """Median F0 over voiced 40 ms frames by autocorrelation (first strong peak, no octave drop)."""
    x = pcm.as_samples(audio).astype(np.float64)
    frame = rate_hz * 40 // 1000
    lo, hi = rate_hz // 400, rate_hz // 60
    pitches = []
    for start in range(0, len(x) - frame, frame // 2):
        w = x[start : start + frame] - x[start : start + frame].mean()
        if np.mean(w * w) < 1500**2:
            continue
        ac = np.correlate(w, w, "full")[frame - 1 :][lo:hi]
        best = ac.max()
        if best < 0.4 * np.dot(w, w):
            continue
        strong = max(0.85 * best, 0.0)
        first = next(k for k in range(1, len(ac) - 1) if ac[k] >= max(strong, ac[k - 1], ac[k + 1]))
        pitches.append(rate_hz / (lo + first))
    return float(np.median(pitches))


def _espeak(voice_args: list[str], text: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["espeak-ng", *voice_args, "--stdout", "--", text], capture_output=True, check=False
    )


def _is_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie (a zombie means it was not reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


@pytest.fixture
def synth() -> Synthesizer:
    return Synthesizer()


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.subprocess.Process]:
    """Every process the synthesizer starts during the test, to check how it ended."""
    processes: list[asyncio.subprocess.Process] = []
    original = asyncio.create_subprocess_exec

    async def recording(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await original(*args, **kwargs)
        processes.append(process)
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", recording)
    return processes


# --- voice map ------------------------------------------------------------------------------


def test_every_gemini_voice_is_mapped_to_a_distinct_triple() -> None:
    assert sorted(VOICES) == sorted(GEMINI_VOICES)
    triples = {(v.name, v.pitch, v.speed) for v in VOICES.values()}
    assert len(triples) == len(VOICES)
    assert len({v.name for v in VOICES.values()}) == len(VOICES)
    assert DEFAULT_VOICE in VOICES
    for voice in VOICES.values():
        assert 150 <= voice.speed <= 185


def test_classic_voices_differ_in_voice_and_at_least_pitch_or_speed() -> None:
    classic = [VOICES[name] for name in CLASSIC]
    for i, a in enumerate(classic):
        for b in classic[i + 1 :]:
            assert a.name != b.name
            assert (a.pitch, a.speed) != (b.pitch, b.speed)


@needs_espeak
@pytest.mark.parametrize("name", GEMINI_VOICES)
def test_each_mapped_voice_exists_and_its_variant_takes_effect(name: str) -> None:
    voice = VOICES[name]
    result = _espeak(voice.argv(), "Testing one two three.")
    assert result.returncode == 0
    assert result.stderr == b""
    assert pcm.rms(result.stdout[44:]) > 0.02
    # espeak-ng silently ignores some variants (e.g. "en-gb+f3"); then audio equals the base.
    language = voice.name.split("+", 1)[0]
    base_args = ["-v", language, *voice.argv()[2:]]
    assert _espeak(base_args, "Testing one two three.").stdout != result.stdout


def test_voice_for_is_case_insensitive_and_defaults() -> None:
    assert voice_for("charon") is VOICES["Charon"]
    assert voice_for(" KORE ") is VOICES["Kore"]
    assert voice_for(None) is VOICES[DEFAULT_VOICE]
    assert tts.resolve_voice_name("zEPHYR") == "Zephyr"


@pytest.mark.parametrize("name", ["", "Nobody", "en-us", "Puck2"])
def test_unknown_voice_raises(name: str) -> None:
    with pytest.raises(UnknownVoiceError):
        voice_for(name)
    assert issubclass(UnknownVoiceError, ValueError)


@pytest.mark.parametrize(
    ("name", "pitch", "speed"),
    [("-x", 50, 170), ("en us", 50, 170), ("en;rm", 50, 170), ("en", 100, 170), ("en", 50, 20)],
)
def test_espeak_voice_validates_fields(name: str, pitch: int, speed: int) -> None:
    with pytest.raises(ValueError):
        EspeakVoice(name, pitch, speed)


# --- text handling --------------------------------------------------------------------------


def test_sanitize_text_strips_controls_and_collapses_whitespace() -> None:
    assert sanitize_text("  a\x00b\x07c\n\td\u200be\ud800 ") == "a b c d e"
    assert sanitize_text("\x00\x01\n") == ""
    assert sanitize_text("naïve café 日本 😀") == "naïve café 日本 😀"
    with pytest.raises(ValueError):
        sanitize_text("x" * (MAX_TEXT_CHARS + 1))


# --- synthesis ------------------------------------------------------------------------------


@needs_espeak
async def test_hello_there_is_24khz_pcm16_of_plausible_length(synth: Synthesizer) -> None:
    assert synth.available()
    audio = await synth.synthesize("hello there", VOICES[DEFAULT_VOICE])
    assert len(audio) % pcm.SAMPLE_WIDTH == 0
    assert 400 <= pcm.duration_ms(audio, pcm.OUTPUT_RATE_HZ) <= 2000
    assert pcm.rms(audio) > 0.02
    assert pcm.peak(audio) < 1.0


@needs_espeak
@pytest.mark.parametrize("chunk_ms", [20, 40, 100])
async def test_chunks_are_chunk_ms_long_except_the_last(chunk_ms: int) -> None:
    synth = Synthesizer(chunk_ms=chunk_ms)
    chunks = [c async for c in synth.stream(SENTENCE, VOICES["Kore"])]
    size = pcm.bytes_for_ms(chunk_ms, pcm.OUTPUT_RATE_HZ)
    assert len(chunks) > 5
    assert all(len(c) == size for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= size
    assert len(chunks[-1]) % pcm.SAMPLE_WIDTH == 0


@needs_espeak
async def test_classic_voices_sound_measurably_different(synth: Synthesizer) -> None:
    audio = {name: await synth.synthesize(SENTENCE, VOICES[name]) for name in CLASSIC}
    pitch = {name: _median_pitch_hz(a) for name, a in audio.items()}
    seconds = {name: pcm.duration_ms(a, pcm.OUTPUT_RATE_HZ) / 1000 for name, a in audio.items()}
    # Female voices sit far above the male ones; Charon is the deepest and slowest.
    for female in ("Kore", "Aoede", "Leda", "Zephyr"):
        assert pitch[female] > 1.3 * pitch["Puck"]
    assert pitch["Charon"] < 0.85 * pitch["Puck"]
    assert seconds["Charon"] > 1.1 * seconds["Fenrir"]
    assert min(pitch.values()) == pitch["Charon"]
    assert len({a for a in audio.values()}) == len(CLASSIC)


@needs_espeak
async def test_first_chunk_arrives_while_espeak_is_still_running(synth: Synthesizer) -> None:
    stream = synth.stream(LONG_TEXT, VOICES["Puck"])
    async with contextlib.aclosing(stream):
        first = await anext(stream)
        assert len(first) == pcm.bytes_for_ms(synth.chunk_ms, pcm.OUTPUT_RATE_HZ)
        (pid,) = synth.active_pids()
        assert _is_alive(pid)


async def _consume(stream: AsyncIterator[bytes], started: asyncio.Event) -> None:
    async for _chunk in stream:
        started.set()


@needs_espeak
async def test_aclose_mid_stream_kills_and_reaps(
    synth: Synthesizer, spawned: list[asyncio.subprocess.Process]
) -> None:
    stream = synth.stream(LONG_TEXT, VOICES["Orus"])
    await anext(stream)
    (pid,) = synth.active_pids()
    assert _is_alive(pid)
    await stream.aclose()
    assert synth.active_pids() == frozenset()
    assert not _exists(pid)
    assert [p.returncode for p in spawned] == [-signal.SIGKILL]
    gc.collect()


@needs_espeak
async def test_cancelling_the_consumer_kills_and_reaps(
    synth: Synthesizer, spawned: list[asyncio.subprocess.Process]
) -> None:
    started = asyncio.Event()
    task = asyncio.create_task(_consume(synth.stream(LONG_TEXT, VOICES["Leda"]), started))
    await started.wait()
    (pid,) = synth.active_pids()
    assert _is_alive(pid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert synth.active_pids() == frozenset()
    assert not _exists(pid)
    assert [p.returncode for p in spawned] == [-signal.SIGKILL]
    gc.collect()


@needs_espeak
async def test_concurrent_streams_match_sequential_output(synth: Synthesizer) -> None:
    voices = [VOICES["Puck"], VOICES["Kore"], VOICES["Puck"]]
    together = await asyncio.gather(*(synth.synthesize(SENTENCE, v) for v in voices))
    alone = await synth.synthesize(SENTENCE, VOICES["Puck"])
    # espeak-ng is deterministic; soxr output varies by a few LSB with the pipe's read sizes.
    for audio in (together[0], together[2]):
        assert len(audio) == len(alone)
        diff = pcm.as_samples(audio).astype(np.int32) - pcm.as_samples(alone)
        assert np.abs(diff).max() <= 8
    assert len(together[1]) != len(alone)
    assert synth.active_pids() == frozenset()


@needs_espeak
@pytest.mark.parametrize(
    "text",
    [
        "\"quoted\" and 'single' quotes",
        "-v xx --help",
        "--stdout",
        "$(rm -rf /) ; `ls` | cat > /tmp/x",
        "naïve café, 日本語, emoji 😀",
        "<speak>not ssml</speak>",
        "line one\nline two\r\n\x00\x1b[31m",
    ],
)
async def test_odd_text_is_spoken_safely(synth: Synthesizer, text: str) -> None:
    audio = await synth.synthesize(text, VOICES["Zephyr"])
    assert pcm.duration_ms(audio, pcm.OUTPUT_RATE_HZ) > 200
    assert pcm.rms(audio) > 0.01


@needs_espeak
@pytest.mark.parametrize("text", ["", "   ", "\x00\x07\n"])
async def test_empty_text_gives_no_audio(synth: Synthesizer, text: str) -> None:
    assert await synth.synthesize(text, VOICES["Puck"]) == b""


async def test_text_over_the_cap_is_refused(synth: Synthesizer) -> None:
    with pytest.raises(ValueError):
        await synth.synthesize("a" * (MAX_TEXT_CHARS + 1), VOICES["Puck"])


# --- failures -------------------------------------------------------------------------------


async def test_missing_executable_raises_synthesis_error() -> None:
    synth = Synthesizer(executable="/nonexistent/espeak-ng")
    assert not synth.available()
    with pytest.raises(SynthesisError, match="cannot start"):
        await synth.synthesize("hello", VOICES["Puck"])


@needs_espeak
async def test_nonzero_exit_raises_synthesis_error(synth: Synthesizer) -> None:
    with pytest.raises(SynthesisError, match="status"):
        await synth.synthesize("hello", EspeakVoice("xx-nonexistent", 50, 170))
    assert synth.active_pids() == frozenset()


@pytest.mark.skipif(shutil.which("echo") is None, reason="needs echo")
async def test_non_wav_output_raises_synthesis_error() -> None:
    synth = Synthesizer(executable=shutil.which("echo") or "echo")
    with pytest.raises(SynthesisError, match="RIFF"):
        await synth.synthesize("hello there", VOICES["Puck"])
    assert synth.active_pids() == frozenset()


@pytest.mark.skipif(shutil.which("true") is None, reason="needs true")
async def test_empty_output_raises_synthesis_error() -> None:
    synth = Synthesizer(executable=shutil.which("true") or "true")
    with pytest.raises(SynthesisError, match="no WAV data"):
        await synth.synthesize("hello there", VOICES["Puck"])


def test_chunk_ms_is_validated() -> None:
    with pytest.raises(ValueError):
        Synthesizer(chunk_ms=0)


# --- WAV header parsing ---------------------------------------------------------------------


def _wav_header(*extra_chunks: bytes, rate: int = 22050, bits: int = 16) -> bytes:
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little")
    fmt += (rate * 2).to_bytes(4, "little") + (2).to_bytes(2, "little")
    fmt += bits.to_bytes(2, "little")
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"".join(extra_chunks)
    return b"RIFF" + (0x7FFFFFFF).to_bytes(4, "little") + body + b"data" + b"\xff\xff\xff\x7f"


def test_wav_stream_parses_header_split_byte_by_byte() -> None:
    stream = tts._WavStream()
    data = _wav_header() + bytes(range(10))
    out = b"".join(stream.feed(data[i : i + 1]) for i in range(len(data)))
    assert out == bytes(range(10))
    assert stream.rate_hz == 22050
    assert stream.in_data


def test_wav_stream_skips_other_chunks_with_odd_padding() -> None:
    stream = tts._WavStream()
    odd_chunk = b"LIST" + (3).to_bytes(4, "little") + b"abc\x00"
    assert stream.feed(_wav_header(odd_chunk, rate=16000) + b"\x01\x02") == b"\x01\x02"
    assert stream.rate_hz == 16000


@pytest.mark.parametrize(
    "data",
    [
        b"RIFX" + bytes(8),
        _wav_header(bits=8),
        b"RIFF" + bytes(4) + b"WAVE" + b"data" + bytes(8),
        b"RIFF" + bytes(4) + b"WAVE" + b"junk" + (100_000).to_bytes(4, "little"),
    ],
)
def test_wav_stream_rejects_malformed_headers(data: bytes) -> None:
    with pytest.raises(SynthesisError):
        tts._WavStream().feed(data)
