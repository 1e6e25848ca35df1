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
    assert abs(pause_at - first) <= _speech.SEARCH_MS + 10
    # About the whole sentence plus the pause (Piper's renderings vary a little).
    assert abs(_speech.ms(pcm) - 500 - _speech.ms(whole)) < 0.2 * _speech.ms(whole)
