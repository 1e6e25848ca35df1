"""Tests for the streaming voice activity detector, on espeak-ng speech and synthetic audio."""

from __future__ import annotations

import random

import pytest

from liveavatar.emulator.vad import SpeechEnded, SpeechStarted, StreamingVad, VadConfig, VadEvent
from tests.support.speech import (
    chunks,
    duration_ms,
    noise,
    silence,
    speech_bounds_ms,
    synthesize_pcm16,
    trim,
)

LEAD_MS = 1000


def run(vad: StreamingVad, pcm: bytes, chunk_ms: int = 20) -> list[VadEvent]:
    events: list[VadEvent] = []
    for chunk in chunks(pcm, chunk_ms):
        events.extend(vad.process(chunk))
    return events


def markers(events: list[VadEvent]) -> list[SpeechStarted | SpeechEnded]:
    return [e for e in events if not isinstance(e, bytes)]


def utterances(events: list[VadEvent]) -> list[bytes]:
    """Audio of each utterance as a recogniser would receive it: preroll plus bytes."""
    out: list[bytes] = []
    current: list[bytes] | None = None
    for event in events:
        if isinstance(event, SpeechStarted):
            current = [event.preroll]
        elif isinstance(event, SpeechEnded):
            assert current is not None
            out.append(b"".join(current))
            current = None
        else:
            assert current is not None, "audio outside an utterance"
            current.append(event)
    return out


def test_speech_in_silence_gives_one_utterance_at_the_true_boundaries() -> None:
    speech = synthesize_pcm16("what is the weather like")
    onset, end = speech_bounds_ms(speech)
    pcm = silence(LEAD_MS) + speech + silence(1500)
    config = VadConfig()
    vad = StreamingVad(config)

    events = run(vad, pcm)

    started, ended = markers(events)
    assert isinstance(started, SpeechStarted)
    assert isinstance(ended, SpeechEnded)
    assert abs(started.offset_ms - (LEAD_MS + onset)) <= 150
    assert abs(ended.offset_ms - (LEAD_MS + end + config.silence_duration_ms)) <= 250
    assert not vad.in_speech
    # The utterance audio is exactly the input from prefix padding before the onset up
    # to the frame that declared the end: nothing dropped, duplicated or reordered.
    (audio,) = utterances(events)
    first = (started.offset_ms - config.prefix_padding_ms) * 32
    assert audio == pcm[first : ended.offset_ms * 32]


@pytest.mark.parametrize(
    "pcm",
    [silence(3000), noise(3000, rms=100.0), noise(3000, rms=100.0, seed=7) + silence(500)],
    ids=["digital-silence", "faint-noise", "faint-noise-2"],
)
def test_silence_and_faint_noise_never_count_as_speech(pcm: bytes) -> None:
    vad = StreamingVad(VadConfig())
    assert run(vad, pcm) == []
    assert not vad.in_speech
    assert vad.offset_ms == duration_ms(pcm)


@pytest.mark.parametrize(("silence_ms", "expected"), [(500, 1), (200, 2)])
def test_a_pause_splits_the_utterance_only_if_longer_than_silence_duration(
    silence_ms: int, expected: int
) -> None:
    first = trim(synthesize_pcm16("turn on the lights"))
    second = trim(synthesize_pcm16("play some music"))
    pcm = silence(LEAD_MS) + first + silence(300) + second + silence(1500)
    vad = StreamingVad(VadConfig(silence_duration_ms=silence_ms))

    events = run(vad, pcm)

    kinds = [type(e) for e in markers(events)]
    assert kinds == [SpeechStarted, SpeechEnded] * expected
    assert len(utterances(events)) == expected


def test_flush_ends_an_utterance_in_progress() -> None:
    vad = StreamingVad(VadConfig())
    events = run(vad, silence(500) + synthesize_pcm16("set a timer for five minutes")[:32000])
    assert [type(e) for e in markers(events)] == [SpeechStarted]
    assert vad.in_speech

    vad.process(b"\x00" * 100)  # a partial frame is still buffered when the stream ends
    assert vad.flush() == [SpeechEnded(vad.offset_ms)]
    assert not vad.in_speech
    assert vad.offset_ms == 1500 + 100 // 32
    assert vad.flush() == []


def test_any_chunk_size_gives_the_same_events() -> None:
    pcm = silence(700) + synthesize_pcm16("how are you today") + silence(900)
    pcm += synthesize_pcm16("stop") + silence(1200)
    expected = run(StreamingVad(VadConfig()), pcm)
    assert len(markers(expected)) == 4

    rng = random.Random(1)
    for sizes in (
        [1],
        [3, 641],
        [7 * 320],
        [100_000],
        [rng.randrange(1, 5000) for _ in range(500)],
    ):
        vad = StreamingVad(VadConfig())
        events: list[VadEvent] = []
        pos = calls = 0
        while pos < len(pcm):
            size = sizes[calls % len(sizes)]
            events.extend(vad.process(pcm[pos : pos + size]))
            pos, calls = pos + size, calls + 1
        assert markers(events) == markers(expected)
        assert utterances(events) == utterances(expected)


def test_low_start_sensitivity_ignores_a_short_burst_that_high_accepts() -> None:
    vowel = trim(synthesize_pcm16("ah", speed=100))
    burst = vowel[100 * 32 : 200 * 32]  # 100 ms of loud voiced sound
    pcm = silence(500) + burst + silence(1000)

    high = markers(run(StreamingVad(VadConfig(start_sensitivity="HIGH")), pcm))
    low = markers(run(StreamingVad(VadConfig(start_sensitivity="LOW")), pcm))

    assert [type(e) for e in high] == [SpeechStarted, SpeechEnded]
    assert low == []
    # Real speech still gets through with LOW sensitivity.
    speech = silence(500) + synthesize_pcm16("good morning") + silence(1000)
    assert len(markers(run(StreamingVad(VadConfig(start_sensitivity="LOW")), speech))) == 2


def test_high_end_sensitivity_never_ends_later_than_low() -> None:
    pcm = silence(500) + synthesize_pcm16("set a timer for five minutes") + silence(1500)
    ends = {}
    for sensitivity in ("HIGH", "LOW"):
        events = markers(run(StreamingVad(VadConfig(end_sensitivity=sensitivity)), pcm))
        assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
        ends[sensitivity] = events[1].offset_ms
    assert ends["HIGH"] <= ends["LOW"]


def test_preroll_holds_prefix_padding_and_the_triggering_audio() -> None:
    speech = synthesize_pcm16("hello there")
    pcm = silence(LEAD_MS) + speech + silence(1000)
    for padding in (0, 20, 300):
        (started, _) = markers(run(StreamingVad(VadConfig(prefix_padding_ms=padding)), pcm))
        assert isinstance(started, SpeechStarted)
        first = (started.offset_ms - padding) * 32
        assert pcm[first:].startswith(started.preroll)
        assert duration_ms(started.preroll) >= padding + 60


def test_reset_abandons_the_utterance_but_keeps_the_clock() -> None:
    vad = StreamingVad(VadConfig())
    run(vad, silence(200) + synthesize_pcm16("what time is it")[:16000])
    assert vad.in_speech
    vad.process(b"\x01\x00" * 10)
    vad.reset()
    assert not vad.in_speech
    assert vad.offset_ms == 700  # the dropped partial frame (10 samples) still counts
    assert run(vad, silence(1000)) == []


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        StreamingVad(VadConfig(), sample_rate=22050)
    with pytest.raises(ValueError):
        VadConfig(silence_duration_ms=-1)
    with pytest.raises(ValueError):
        VadConfig(start_sensitivity="MEDIUM")  # type: ignore[arg-type]
