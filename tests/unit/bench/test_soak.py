"""The soak benchmark's measures: an answer's audio gap, and what counts as "at" a rotation."""

from __future__ import annotations

from bench.soak import OUT_BYTES_PER_S, Turn, near

FRAME = 960  # 20 ms of 24 kHz PCM16
FRAME_S = FRAME / OUT_BYTES_PER_S


def test_audio_ahead_of_its_playback_clock_is_not_late() -> None:
    turn = Turn(asked_at=0.0)
    turn.frames = [(1.0, FRAME), (1.0, FRAME), (1.0 + FRAME_S, FRAME)]  # a lead, then paced
    assert turn.late_ms() == 0.0
    assert turn.gap_ms() == 0.0


def test_the_pre_buffer_absorbs_lateness_up_to_its_size() -> None:
    turn = Turn(asked_at=0.0)
    turn.frames = [(1.0, FRAME), (1.0 + FRAME_S + 0.1, FRAME), (1.0 + 2 * FRAME_S + 0.1, FRAME)]
    assert turn.late_ms() == 100.0
    assert turn.gap_ms(prebuffer_ms=70) == 30.0
    assert turn.gap_ms(prebuffer_ms=150) == 0.0


def test_no_audio_no_gap() -> None:
    assert Turn(asked_at=0.0).gap_ms() is None and Turn(asked_at=0.0).late_ms() is None


def test_near_covers_the_turn_and_a_second_either_side() -> None:
    turn = Turn(asked_at=10.0, ended_at=14.0)
    assert near(turn, [9.5]) and near(turn, [12.0]) and near(turn, [14.9])
    assert not near(turn, [8.0, 16.0])
    assert not near(turn, [])
