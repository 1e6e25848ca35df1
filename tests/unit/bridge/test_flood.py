"""The JSON frame limiter: generous for a real page, bounded for a flood."""

from __future__ import annotations

import pytest

from liveavatar.bridge.flood import BURST, MAX_DROPPED, RATE_PER_S, FloodGate, Verdict
from liveavatar.errors import CLOSE_BAD_REQUEST, Flooding


def test_a_real_page_is_never_limited_over_an_hour() -> None:
    # One video frame a second, a ping every 15 s, a typed line every 10 s.
    gate = FloodGate(0.0)
    times = sorted(
        [float(s) for s in range(3600)]
        + [s + 0.5 for s in range(0, 3600, 15)]
        + [s + 0.25 for s in range(0, 3600, 10)]
    )
    assert all(gate.admit(t) is Verdict.PASS for t in times)


def test_a_burst_after_a_network_stall_passes_whole() -> None:
    gate = FloodGate(0.0)
    assert all(gate.admit(100.0) is Verdict.PASS for _ in range(BURST))


def test_over_the_burst_frames_are_dropped_and_told_once_a_second() -> None:
    gate = FloodGate(0.0)
    for _ in range(BURST):
        gate.admit(0.0)
    verdicts = [gate.admit(0.0) for _ in range(10)]
    assert verdicts == [Verdict.DROP_AND_TELL] + [Verdict.DROP] * 9
    # Within the second the bucket refills at the sustained rate only.
    at = 1.0
    later = [gate.admit(at) for _ in range(10)]
    assert later.count(Verdict.PASS) == int(RATE_PER_S)
    assert Verdict.DROP_AND_TELL in later


def test_a_flood_that_goes_on_is_a_fatal_protocol_error() -> None:
    gate = FloodGate(0.0)
    for _ in range(BURST + MAX_DROPPED):
        gate.admit(0.0)
    with pytest.raises(Flooding) as info:
        gate.admit(0.0)
    assert info.value.fault.code == "bad_request"
    assert info.value.fault.close_code == CLOSE_BAD_REQUEST


def test_a_flood_that_stops_is_forgiven_once_the_bucket_is_full() -> None:
    gate = FloodGate(0.0)
    for _ in range(BURST + MAX_DROPPED):
        gate.admit(0.0)
    refilled = BURST / RATE_PER_S
    assert gate.admit(refilled) is Verdict.PASS
    for _ in range(BURST - 1 + MAX_DROPPED):
        gate.admit(refilled)  # a second flood gets the whole allowance again
    with pytest.raises(Flooding):
        gate.admit(refilled)


def test_a_clock_that_goes_backwards_adds_no_tokens() -> None:
    gate = FloodGate(10.0, burst=1)
    assert gate.admit(10.0) is Verdict.PASS
    assert gate.admit(5.0) is not Verdict.PASS
