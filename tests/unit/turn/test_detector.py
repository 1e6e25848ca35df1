"""The detector on espeak-ng speech: where an utterance starts and how it ends."""

from __future__ import annotations

from typing import cast

from liveavatar.turn import models
from liveavatar.turn.detector import WINDOW_MS, Ended, Started, TurnDetector, TurnEvent
from liveavatar.turn.features import F32
from liveavatar.turn.models import SileroState, TurnModels
from liveavatar.turn.settings import TurnSettings
from tests.support.speech import chunks, silence, speech_bounds_ms, synthesize_pcm16, trim


def run(detector: TurnDetector, pcm: bytes) -> list[tuple[int, TurnEvent]]:
    """Events with the stream position (ms) of the chunk that produced them."""
    out: list[tuple[int, TurnEvent]] = []
    at = 0
    for chunk in chunks(pcm, 20):
        at += 20
        out += [(at, e) for e in detector.process(chunk)]
    return out


def test_silence_starts_nothing() -> None:
    detector = TurnDetector(models.shared(), TurnSettings())
    assert run(detector, silence(3000)) == []
    assert detector.cpu_s > 0


def test_an_utterance_is_bracketed_and_its_audio_forwarded_in_full() -> None:
    speech = synthesize_pcm16("what is the weather like in Paris today")
    pcm = silence(500) + speech + silence(1500)
    start_ms, end_ms = speech_bounds_ms(pcm)
    settings = TurnSettings(short_silence_ms=128, max_silence_ms=800)
    detector = TurnDetector(models.shared(), settings)
    events = run(detector, pcm)
    kinds = [type(e).__name__ for _, e in events if not isinstance(e, bytes)]
    assert kinds == ["Started", "Ended"]
    started_at = next(at for at, e in events if isinstance(e, Started))
    ended_at, ended = next((at, e) for at, e in events if isinstance(e, Ended))
    assert isinstance(ended, Ended)
    # Started within ~150 ms of the first word, its preroll reaching back before it.
    assert start_ms < started_at <= start_ms + 200
    preroll = next(e.preroll for _, e in events if isinstance(e, Started))
    assert len(preroll) // 32 >= started_at - start_ms
    # Ended after the short silence at the earliest, the maximum at the latest.
    assert end_ms + settings.short_silence_ms <= ended_at
    assert ended_at <= end_ms + settings.max_silence_ms + 2 * WINDOW_MS + 100
    forwarded = sum(len(e) for _, e in events if isinstance(e, bytes))
    assert forwarded // 32 >= end_ms - started_at


def test_the_maximum_silence_ends_what_the_model_leaves_open() -> None:
    threshold = 0.99
    pcm = silence(300) + synthesize_pcm16("I would like to book a table for") + silence(1500)
    settings = TurnSettings(short_silence_ms=96, max_silence_ms=640, threshold=threshold)
    detector = TurnDetector(models.shared(), settings)
    ends = [e for _, e in run(detector, pcm) if isinstance(e, Ended)]
    assert len(ends) == 1
    (end,) = ends
    if end.probability is None:
        assert end.silence_ms >= 640
    else:  # the model was that sure
        assert end.probability >= threshold and end.silence_ms < 640
    assert detector.judgements >= 1


def test_flush_forgets_the_utterance() -> None:
    detector = TurnDetector(models.shared(), TurnSettings())
    events = run(detector, silence(300) + trim(synthesize_pcm16("hello there")))
    assert any(isinstance(e, Started) for _, e in events)
    assert detector.in_speech
    assert detector.flush() is True
    assert not detector.in_speech
    assert detector.flush() is False


class Recording:
    """The shared models, noting after how many VAD windows each verdict was asked."""

    def __init__(self) -> None:
        self._models = models.shared()
        self.windows = 0
        self.asked_at: list[int] = []

    def speech_probability(self, window: F32, state: SileroState) -> float:
        self.windows += 1
        return self._models.speech_probability(window, state)

    def end_probability(self, audio: F32) -> float:
        self.asked_at.append(self.windows)
        return self._models.end_probability(audio)


def test_the_model_is_asked_before_the_short_silence_has_elapsed() -> None:
    pcm = silence(500) + trim(synthesize_pcm16("what is your name")) + silence(1500)
    settings = TurnSettings(short_silence_ms=160, max_silence_ms=800, threshold=0.01)
    recording = Recording()
    detector = TurnDetector(cast(TurnModels, recording), settings)
    windows_at_end = 0
    for chunk in chunks(pcm, 20):
        if any(isinstance(e, Ended) for e in detector.process(chunk)):
            windows_at_end = recording.windows
            break
    assert windows_at_end, "the turn never ended"
    # The last verdict was asked at the first silent window, four windows (the rest of
    # the 160 ms) before the end it decided.
    assert recording.asked_at[-1] <= windows_at_end - (160 // WINDOW_MS - 1)


def test_a_verdict_is_dropped_when_speech_resumes() -> None:
    first, second = synthesize_pcm16("I would like to book"), synthesize_pcm16("a table")
    pcm = silence(300) + trim(first) + silence(500) + trim(second) + silence(1200)
    settings = TurnSettings(short_silence_ms=96, max_silence_ms=700, threshold=0.999)
    recording = Recording()
    detector = TurnDetector(cast(TurnModels, recording), settings)
    ends = [e for _, e in run(detector, pcm) if isinstance(e, Ended)]
    assert len(ends) == 1  # the pause did not end the turn (700 ms > 500 ms)
    # Asked in the pause and again after the second part.
    assert len(recording.asked_at) >= 2
    assert detector.judgements == len(recording.asked_at)
