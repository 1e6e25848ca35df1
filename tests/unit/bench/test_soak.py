"""The soak benchmark's measures: how late an answer's audio is, and the player's gap."""

from __future__ import annotations

from bench.soak import OUT_BYTES_PER_S, Turn, gap_ms, near, worst_late_ms

FRAME = 960  # 20 ms of 24 kHz PCM16
FRAME_S = FRAME / OUT_BYTES_PER_S


def test_audio_ahead_of_its_playback_clock_is_not_late() -> None:
    turn = Turn(asked_at=0.0)
    turn.frames = [(1.0, FRAME), (1.0, FRAME), (1.0 + FRAME_S, FRAME)]  # a lead, then paced
    assert [late for _, late in turn.lateness()] == [0.0, 0.0, 0.0]


def test_a_late_frame_and_the_pre_buffer_that_absorbs_it() -> None:
    turn = Turn(asked_at=0.0)
    turn.frames = [(1.0, FRAME), (1.0 + FRAME_S + 0.1, FRAME), (1.0 + 2 * FRAME_S + 0.1, FRAME)]
    assert max(late for _, late in turn.lateness()) == 100.0
    assert gap_ms([100.0], prebuffer_ms=70) == 30.0
    assert gap_ms([100.0], prebuffer_ms=150) == 0.0
    assert gap_ms([]) is None


def test_only_frames_at_the_chosen_moments_count() -> None:
    turn = Turn(asked_at=0.0)
    turn.frames = [(1.0, FRAME), (1.0 + FRAME_S + 0.1, FRAME)]
    assert worst_late_ms([turn], lambda t: t < 1.01) == [0.0]
    assert worst_late_ms([turn], lambda t: t > 1.01) == [100.0]
    assert worst_late_ms([turn, Turn(asked_at=5.0)], lambda t: t > 9.0) == []


def test_near_is_within_a_second() -> None:
    assert near(10.0, [9.2]) and near(10.0, [10.9])
    assert not near(10.0, [8.5, 11.5]) and not near(10.0, [])
