"""LiveHealth: stalled from a stall until the next open, and never for good."""

from __future__ import annotations

from liveavatar.live.health import LiveHealth


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stall_lasts_until_the_next_successful_open() -> None:
    health = LiveHealth(clock=Clock())
    assert not health.is_stalled
    health.stalled("connection")
    assert health.is_stalled
    health.opened()
    assert not health.is_stalled


def test_a_stall_is_forgotten_when_nothing_opens_after_it() -> None:
    clock = Clock()
    health = LiveHealth(clock=clock, memory_s=30.0)
    health.stalled("open")
    clock.now += 29.0
    assert health.is_stalled
    clock.now += 1.0
    assert not health.is_stalled


def test_every_stall_is_counted_with_its_stage() -> None:
    stages: list[str] = []
    health = LiveHealth(on_stall=stages.append)
    health.stalled("open")
    health.stalled("connection")
    assert stages == ["open", "connection"]
