"""The turn-detection corpus's voices and its paused utterances (bench/_speech.py)."""

from __future__ import annotations

import numpy as np
import pytest
from bench import _speech


def test_the_quietest_frame_near_the_estimate_is_where_the_cut_goes() -> None:
    rng = np.random.default_rng(7)
    loud = (rng.standard_normal(_speech.RATE) * 8000).astype("<i2")
    loud[7000:7160] = 0  # a quiet 10 ms at 437-447 ms
    cut = _speech.quietest_cut(loud.tobytes(), near_ms=400)
    assert 7000 <= cut // 2 <= 7160
    # Beyond the search span the quiet frame is not found.
    far = _speech.quietest_cut(loud.tobytes(), near_ms=800, search_ms=100)
    assert not 7000 <= far // 2 <= 7160


@pytest.mark.parametrize("voice", [_speech.PIPER_VOICES[1], _speech.ESPEAK_VOICES[0]])
def test_a_paused_utterance_is_one_rendering_with_a_silence_inside(voice: _speech.Voice) -> None:
    pcm, pause_at = _speech.paused(voice, "I would like to book", "a table for two", 500)
    whole = voice.say("I would like to book a table for two")
    samples = np.frombuffer(pcm, dtype="<i2")
    start = pause_at * _speech.RATE // 1000
    # The pause is digital silence, and speech on both sides of it.
    assert not samples[start : start + _speech.RATE // 2].any()
    assert samples[:start].any() and samples[start + _speech.RATE // 2 :].any()
    first = _speech.ms(voice.say("I would like to book"))
    assert abs(pause_at - first) <= _speech.SEARCH_MS + 300
    # About the whole sentence plus the pause (Piper's renderings vary a little).
    assert abs(_speech.ms(pcm) - 500 - _speech.ms(whole)) < 0.2 * _speech.ms(whole)


@pytest.mark.parametrize(
    ("first", "second"),
    [("let me think about", "what I want for lunch"), ("I need to", "buy milk eggs and bread")],
)
def test_the_pause_falls_between_the_two_parts_words(first: str, second: str) -> None:
    voice = _speech.PIPER_VOICES[0]
    pcm, pause_at = _speech.paused(voice, first, second, 500)
    # Aligned again, the paused rendering has the first part's words before the silence
    # and the second part's after it: no word is cut in two (the aligner's frames and
    # co-articulation give a few tens of ms either way).
    words = _speech.aligned_words(pcm, f"{first} {second}")
    n = len(first.split())
    assert [w.text for w in words[: n + 1]] == f"{first} {second}".lower().split()[: n + 1]
    assert words[n - 1].end_ms <= pause_at + 40
    assert words[n].start_ms >= pause_at + 500 - 40


def test_alignment_places_a_sentences_words_in_order() -> None:
    pcm = _speech.PIPER_VOICES[1].say("what is the capital of australia")
    words = _speech.aligned_words(pcm, "what is the capital of australia")
    assert [w.text for w in words][:5] == ["what", "is", "the", "capital", "of"]
    assert all(a.end_ms <= b.start_ms for a, b in zip(words, words[1:], strict=False))
    assert 0 <= words[0].start_ms < 100 and words[-1].end_ms <= _speech.ms(pcm) + 20
