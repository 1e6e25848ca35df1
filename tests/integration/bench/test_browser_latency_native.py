"""`python -m bench.browser_latency --avatar native` in short (one block: a question, a
joke and a phrase spoken over it) against the real stack in headless Chromium. Its figures
are checked for shape and sense, never for speed."""

from __future__ import annotations

import pytest

from tests.support.bench_cli import run_bench

RUN_TIMEOUT_S = 300

pytestmark = pytest.mark.slow


def test_native_mode_times_the_video_of_each_answer() -> None:
    result = run_bench(
        "browser_latency",
        *("--avatar", "native", "--blocks", "1", "--min-blocks", "1", "--detail"),
        timeout_s=RUN_TIMEOUT_S,
    )
    assert result["avatar"] == "native"
    video = result["video"]
    assert video["frames_presented"] > 24  # more than a second of answers shown
    assert video["audio_decoded_bytes"] > 0
    assert video["sound_tap"] == "captureStream"
    assert video["tap_audio_tracks"] >= 1
    # The question and the joke are answered one after the other: the second answer plays
    # too (the play head leaves the first turn's end for the next turn's media).
    first = result["mouth_to_ear_ms"]
    assert first["n"] >= 2
    assert 0 < first["p50"] <= first["p95"]
    # The frame is expected on screen after it is handed to the compositor.
    assert result["mouth_to_ear_expected_display_ms"]["p50"] >= first["p50"]
    assert result["first_sound_ms"]["n"] >= 1
    turns = result["turns"]
    assert (turns["phrases"], turns["overlapping"]) == (3, 1)
    # The phrase over the joke either cut it (and the video stopped after that speech
    # began) or came too late to (then nothing is timed as a barge-in).
    cut = result["barge_in_ms"]
    assert cut["n"] + len(turns["not_interrupted"]) == 1
    if cut["n"]:
        assert cut["p50"] > 0
        assert 0 <= result["interrupted_to_stop_ms"]["p50"] < cut["p50"]
