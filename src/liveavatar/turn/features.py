"""Whisper-style log-mel features, the input of the smart-turn model.

Derived from pipecat's `pipecat/audio/turn/smart_turn/_whisper_features.py` (BSD 2-Clause,
Copyright (c) 2024-2026, Daily), itself derived from Hugging Face Transformers'
`WhisperFeatureExtractor` (Apache-2.0, Copyright 2022-2023 The HuggingFace Inc. team):
kept here so the backend never imports pipecat (whose import logs a banner and pulls in
its framework); the numbers must match what the model was trained on, so the maths is
unchanged. docs/TURN_DETECTION.md has the licences.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

SAMPLE_RATE = 16_000
WINDOW_S = 8  # the model sees the last 8 s of the utterance
WINDOW_SAMPLES = SAMPLE_RATE * WINDOW_S
_N_FFT = 400
_HOP = 160
_N_MELS = 80
_MEL_FLOOR = 1e-10
_NORM_EPS = 1e-7

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def _hz_to_mel(freq: F64) -> F64:
    # Slaney scale: linear below 1 kHz, logarithmic above.
    mels = 3.0 * freq / 200.0
    log_region = freq >= 1000.0
    mels[log_region] = 15.0 + np.log(freq[log_region] / 1000.0) * (27.0 / np.log(6.4))
    return mels


def _mel_to_hz(mels: F64) -> F64:
    freq = 200.0 * mels / 3.0
    log_region = mels >= 15.0
    freq[log_region] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mels[log_region] - 15.0))
    return freq


def _mel_filters() -> F64:
    bins = _N_FFT // 2 + 1
    limits = _hz_to_mel(np.array([0.0, SAMPLE_RATE / 2.0]))
    filter_freqs = _mel_to_hz(np.linspace(limits[0], limits[1], _N_MELS + 2))
    fft_freqs = np.linspace(0, SAMPLE_RATE // 2, bins)
    diff = np.diff(filter_freqs)
    slopes = np.expand_dims(filter_freqs, 0) - np.expand_dims(fft_freqs, 1)
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    filters: F64 = np.maximum(np.zeros(1), np.minimum(down, up))
    enorm = 2.0 / (filter_freqs[2 : _N_MELS + 2] - filter_freqs[:_N_MELS])
    return filters * np.expand_dims(enorm, 0)


_WINDOW: F64 = np.hanning(_N_FFT + 1)[:-1]  # periodic Hann, as torch.hann_window
_FILTERS_T: F64 = _mel_filters().T


def last_window(audio: F32) -> F32:
    """The last `WINDOW_S` seconds of `audio`, zero-padded at the front when shorter."""
    if audio.size >= WINDOW_SAMPLES:
        return audio[-WINDOW_SAMPLES:]
    return np.pad(audio, (WINDOW_SAMPLES - audio.size, 0))


def log_mel(audio: F32) -> F32:
    """Features of exactly `WINDOW_SAMPLES` samples of 16 kHz float audio: (80, 800)."""
    x = audio.astype(np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + _NORM_EPS)
    padded = np.pad(x.astype(np.float64), (_N_FFT // 2, _N_FFT // 2), mode="reflect")
    frames = sliding_window_view(padded, _N_FFT)[::_HOP]
    power = (np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2).T
    spec = np.log10(np.maximum(_MEL_FLOOR, _FILTERS_T @ power))[:, :-1]
    spec = np.maximum(spec, spec.max() - 8.0)
    out: F32 = ((spec + 4.0) / 4.0).astype(np.float32)
    return out
