"""The model files come from the installed pipecat-ai package, or smart mode refuses."""

from __future__ import annotations

import numpy as np
import pytest

from liveavatar.errors import TurnDetectionUnavailable
from liveavatar.turn import models
from liveavatar.turn.features import WINDOW_SAMPLES, last_window, log_mel


def test_the_files_are_found_in_the_installed_package() -> None:
    files = models.find_model_files(models.PACKAGE)
    assert files.smart_turn.name == "smart-turn-v3.2-cpu.onnx"
    assert files.smart_turn.stat().st_size > 8_000_000
    assert files.silero.stat().st_size > 1_000_000


def test_a_missing_package_is_refused_with_what_to_install() -> None:
    with pytest.raises(TurnDetectionUnavailable, match="pipecat-ai"):
        models.find_model_files("not-installed-here")


def test_features_keep_the_last_eight_seconds() -> None:
    rng = np.random.default_rng(1)
    long = rng.standard_normal(WINDOW_SAMPLES + 5000).astype(np.float32)
    assert np.array_equal(last_window(long), long[-WINDOW_SAMPLES:])
    short = last_window(long[:100])
    assert short.size == WINDOW_SAMPLES and not short[:-100].any()
    features = log_mel(short)
    assert features.shape == (80, 800) and features.dtype == np.float32


def test_silence_is_no_speech_and_the_model_answers_a_probability() -> None:
    shared = models.shared()
    state = models.SileroState()
    quiet = np.zeros(models.VAD_WINDOW, dtype=np.float32)
    assert shared.speech_probability(quiet, state) < 0.1
    p = shared.end_probability(np.zeros(16_000, dtype=np.float32))
    assert 0.0 <= p <= 1.0
