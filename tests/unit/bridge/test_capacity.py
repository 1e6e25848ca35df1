"""Sockets waiting for hello: bounded, and cut short under pressure."""

from __future__ import annotations

import pytest

from liveavatar.bridge.capacity import SocketCapacity


def test_waiting_sockets_are_bounded_and_pressed_ones_wait_less() -> None:
    cap = SocketCapacity(max_waiting=4, hello_timeout_s=10, pressed_hello_timeout_s=2)
    tickets = [cap.enter() for _ in range(4)]
    assert [t.timeout_s if t else None for t in tickets] == [10, 10, 2, 2]
    assert cap.enter() is None  # full: the route closes with 1013
    assert cap.waiting == 4
    first = tickets[0]
    assert first is not None
    first.done()
    first.done()  # said hello, then ended: counted once
    assert cap.waiting == 3
    again = cap.enter()
    assert again is not None and again.timeout_s == 2


def test_pressed_timeout_never_exceeds_the_normal_one() -> None:
    cap = SocketCapacity(max_waiting=2, hello_timeout_s=1, pressed_hello_timeout_s=5)
    assert cap.pressed_hello_timeout_s == 1
    with pytest.raises(ValueError):
        SocketCapacity(max_waiting=0, hello_timeout_s=1, pressed_hello_timeout_s=1)
