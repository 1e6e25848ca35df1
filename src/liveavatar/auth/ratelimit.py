"""Per-address connection rate limit and per-user concurrent-session cap.

`ConnectionRateLimiter` is a token bucket per client address, implemented as GCRA (one float
per key): a burst of `limit` connections is allowed, after which one more is allowed every
`window_s / limit` seconds, and `limit` connections are again available `window_s` after the
last one. With the seed's 100 per 60 s that means 100 at once, then one per 0.6 s. Memory is
bounded by `max_keys`: the least recently seen address is forgotten first.

IPv6 clients are keyed by their /64 (one host can use the whole prefix); IPv4-mapped IPv6
addresses count as the IPv4 address.

`SessionCap` counts live sessions per uid. `acquire` returns a `SessionSlot` that must be
released: use it as a (sync or async) context manager, or call `release()` in `finally`;
releasing twice is harmless.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from types import TracebackType

from liveavatar.errors import RateLimited


class ConnectionRateLimited(RateLimited):
    """Too many connections from one address; `retry_after_s` says when to try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TooManySessions(RateLimited):
    """The user already has `max_per_user` sessions open."""


def address_key(ip: str) -> str:
    """The rate-limit key for a client address: IPv4 as is, IPv6 by /64."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip  # not an address (a test client, a unix socket): limit it by its label
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class ConnectionRateLimiter:
    """Allows `limit` connections per `window_s` per address (token bucket, GCRA)."""

    def __init__(
        self,
        limit: int = 100,
        window_s: float = 60,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("limit, window_s and max_keys must be positive")
        self.limit = limit
        self.window_s = window_s
        self._interval = window_s / limit  # one token comes back every interval
        self._burst = window_s - self._interval  # how far ahead the bucket may be drawn
        self._clock = clock
        self._max_keys = max_keys
        # Theoretical arrival time per key: when the bucket will be full again.
        self._tat: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, ip: str) -> None:
        """Count one connection from `ip`; `ConnectionRateLimited` if over the limit."""
        key = address_key(ip)
        with self._lock:
            now = self._clock()
            tat = max(self._tat.get(key, now), now)
            if tat - now > self._burst:
                retry = tat - now - self._burst
                self._tat.move_to_end(key)
                raise ConnectionRateLimited(
                    f"too many connections from your address; retry in {math.ceil(retry)} s",
                    retry,
                )
            self._tat[key] = tat + self._interval
            self._tat.move_to_end(key)
            while len(self._tat) > self._max_keys:
                self._tat.popitem(last=False)

    def __len__(self) -> int:
        """How many addresses are remembered."""
        return len(self._tat)


class SessionSlot:
    """One held session of a user; release it exactly once (extra releases are no-ops)."""

    def __init__(self, cap: SessionCap, uid: str) -> None:
        self._cap = cap
        self.uid = uid
        self._released = False

    def release(self) -> None:
        """Give the slot back."""
        if not self._released:
            self._released = True
            self._cap._release(self.uid)

    def __enter__(self) -> SessionSlot:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    async def __aenter__(self) -> SessionSlot:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class SessionCap:
    """At most `max_per_user` concurrent sessions per uid."""

    def __init__(self, max_per_user: int = 3) -> None:
        if max_per_user < 1:
            raise ValueError("max_per_user must be at least 1")
        self.max_per_user = max_per_user
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def acquire(self, uid: str) -> SessionSlot:
        """Take a slot for `uid`; `TooManySessions` when all are taken."""
        with self._lock:
            held = self._open.get(uid, 0)
            if held >= self.max_per_user:
                raise TooManySessions(
                    f"too many concurrent sessions for this account (limit {self.max_per_user});"
                    " close another tab or device"
                )
            self._open[uid] = held + 1
        return SessionSlot(self, uid)

    def held(self, uid: str) -> int:
        """How many sessions `uid` has open."""
        return self._open.get(uid, 0)

    def _release(self, uid: str) -> None:
        with self._lock:
            held = self._open.get(uid, 0) - 1
            if held > 0:
                self._open[uid] = held
            else:
                # Dropping zero counts keeps memory proportional to open sessions.
                self._open.pop(uid, None)
