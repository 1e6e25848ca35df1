"""The native avatar's timing in bench.browser_latency (bench/_native_latency.py): which
frame is an answer's first, when the play head stopped, and the figures from a small page
log built by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
from bench._drawn_latency import Utterance
from bench._native_latency import analyse_native, first_frame, stall_start


def frame(at: float, media: float, **state: Any) -> dict[str, Any]:
    base = {"paused": False, "ready": 4, "muted": False, "volume": 1}
    return {"presentation": at, "expected": at + 16, "media": media, **base, **state}


def test_the_first_frame_is_the_first_shown_playing_with_sound_after_the_end() -> None:
    frames = [
        frame(100, 0.0),  # an earlier answer, long over
        frame(1_010, 0.0, ready=1),  # the seek's frame: not yet playing
        frame(1_020, 0.5, muted=True),
        frame(1_040, 0.54),
        frame(1_080, 0.58),
    ]
    assert first_frame(frames, 1_000, 2_000) == frames[3]
    assert first_frame(frames, 1_000, 1_030) is None  # none before the limit
    # Frames still shown just before the end of speech: an answer still playing.
    assert first_frame(frames, 1_050, 2_000) is None
    # Unless that end is where a cut answer's video stopped.
    assert first_frame(frames, 1_050, 2_000, after_cut=True) == frames[4]


def test_the_play_head_stops_where_its_time_no_longer_moves() -> None:
    t = np.arange(0, 400, 5, dtype=np.float64)
    time = np.where(t < 150, t / 1000, 0.150)  # plays for 150 ms, then held
    assert stall_start(t, time, 0, len(t)) == 30
    assert stall_start(t, time, 0, 40) is None  # held for only 50 ms before the stop


def test_figures_from_a_page_log() -> None:
    utterances = [
        Utterance("what is your name", 1_000, 2_000, overlaps=False),
        Utterance("tell me a joke", 7_000, 8_000, overlaps=False),
        Utterance("thank you", 9_400, 10_000, overlaps=True),
    ]
    events = [
        {"type": "mic-started", "t": 0.0},
        {"type": "interrupted", "t": 9_480.0},
    ]
    # Answers: 2.4-3.6 s (media 0-1.2) and 8.5 s on (media 5-), cut: held from 9.5 s.
    frames = [frame(2_400 + 40 * i, 0.04 * i) for i in range(30)]
    frames += [frame(8_500 + 40 * i, 5 + 0.04 * i) for i in range(25)]
    t = np.arange(0, 11_000, 5, dtype=np.float64)
    play = np.clip(t, 8_500, 9_500)
    time = np.where(t < 8_500, 1.2, 5 + (play - 8_500) / 1000)
    ahead = np.where((t >= 8_500) & (t < 9_520), 1.0, 0.0)
    level = np.where(((t >= 2_400) & (t < 3_600)) | ((t >= 8_500) & (t < 9_500)), 0.1, 0.0)
    native = {
        "frames": frames,
        "t": t.tolist(),
        "time": time.tolist(),
        "ahead": ahead.tolist(),
        "level": level.tolist(),
        "tapRate": 48_000,
    }
    mic: dict[str, Any] = {"t": [], "level": []}
    got = analyse_native(utterances, events, native, mic)
    # 400 and 500 ms; p95 interpolated between them.
    assert got["mouth_to_ear_ms"] == {"p50": 450.0, "p95": 495.0, "n": 2}
    assert got["first_sound_ms"]["p50"] == 450.0
    assert got["barge_in_ms"] == {"p50": 100.0, "p95": 100.0, "n": 1}
    assert got["interrupted_to_stop_ms"]["p50"] == 20.0
    assert got["barge_in_cleared_ms"]["p50"] == 120.0
    assert got["turns"]["unanswered"] == ["thank you"]
    assert got["video"]["frames_presented"] == 55
