"""How many browser sockets one instance takes, and how many may sit waiting for `hello`.

A socket that never says `hello` costs a task and a file descriptor until its hello
timeout. Left unbounded, a few hundred such sockets fill the instance and everyone else
is turned away. So the sockets waiting for `hello` have their own, smaller bound, and
when more than half of it is taken the wait for the next ones is cut short: a real page
says `hello` in its first round trip, so only the idle are hurt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HelloTicket:
    """One accepted socket's place among those waiting for `hello`."""

    _capacity: SocketCapacity
    timeout_s: float
    _waiting: bool = True

    def done(self) -> None:
        """The socket said `hello` (or ended): it no longer waits. Idempotent."""
        if self._waiting:
            self._waiting = False
            self._capacity._waiting -= 1


class SocketCapacity:
    """Counts sockets waiting for `hello` against `max_waiting`."""

    def __init__(
        self, *, max_waiting: int, hello_timeout_s: float, pressed_hello_timeout_s: float
    ) -> None:
        if max_waiting < 1:
            raise ValueError("max_waiting must be at least 1")
        self.max_waiting = max_waiting
        self.hello_timeout_s = hello_timeout_s
        self.pressed_hello_timeout_s = min(pressed_hello_timeout_s, hello_timeout_s)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Sockets accepted that have not said `hello` yet."""
        return self._waiting

    def enter(self) -> HelloTicket | None:
        """A place for a new socket to wait for `hello`, or None when all are taken."""
        if self._waiting >= self.max_waiting:
            return None
        pressed = self._waiting >= self.max_waiting // 2
        self._waiting += 1
        timeout = self.pressed_hello_timeout_s if pressed else self.hello_timeout_s
        return HelloTicket(self, timeout)
