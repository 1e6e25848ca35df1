"""The detector on espeak-ng speech: where an utterance starts and how it ends."""

from __future__ import annotations

from liveavatar.turn import models
from liveavatar.turn.detector import WINDOW_MS, Ended, Started, TurnDetector, TurnEvent
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
