"""The microphone audio budget: twice real time on average, a burst for stalls."""

from __future__ import annotations

from liveavatar.bridge.budget import AudioBudget


def test_real_time_audio_is_always_admitted() -> None:
    budget = AudioBudget(0.0)
    assert all(budget.admit(640, i * 0.02) for i in range(5000))  # 100 s of audio
    assert budget.dropped == 0


def test_a_backlog_after_a_stall_is_absorbed() -> None:
    budget = AudioBudget(0.0)
    # 5 s of frames that queued up during a stall arrive at once.
    assert all(budget.admit(640, 5.0) for _ in range(250))


def test_a_flood_is_cut_at_the_burst() -> None:
    budget = AudioBudget(0.0, rate_bytes_per_s=64_000, burst_bytes=320_000)
    admitted = sum(budget.admit(640, 0.0) for _ in range(2000))
    assert admitted == 500  # the 10 s burst, then nothing until time passes
    assert budget.dropped == 1500
    assert budget.admit(640, 0.01)  # refilled at twice real time
