"""Per-user daily conversation quota: checked at `hello`, charged while a session runs.

A user may talk `quota_minutes_per_day` minutes per UTC day (the settings' default, or the
user's own override). Days are UTC calendar days for everyone, so the quota resets at 00:00
UTC whatever the user's time zone; a charge that straddles midnight is split between the two
days. Usage is counted by the store's atomic `add_usage`, which returns the new total, so
concurrent sessions of one user (several tabs, several backend instances) never lose time.

In a session, `SessionQuota.enforce()` runs next to the audio tasks: it charges the elapsed
time every `interval_s`, calls `on_warning` once when `warn_before_s` or less remain, wakes
up exactly when the quota runs out, and then raises `QuotaExceeded` (close code 4430).

A quota may instead (or as well) be set in estimated cost per day: see `spend.py`. With
no default minutes (`QUOTA_MINUTES_PER_DAY=off`), time is still charged but never runs out,
unless a user's own override sets a limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, Protocol

from liveavatar.errors import AvatarError, ClientFault, QuotaExceeded

from .one_write import OneWrite

log = logging.getLogger(__name__)

# Below this, time left is rounding noise; treating it as zero keeps `enforce` from
# scheduling ever-smaller sleeps.
_EPSILON_S = 0.01


class UsageStore(Protocol):
    """What the quota needs from the store (SQLite or Firestore): per-user, per-UTC-day
    seconds of conversation. `add_usage` must be an atomic increment returning the total."""

    async def add_usage(self, user_id: str, day: dt.date, seconds: float, /) -> float:
        """Add `seconds` to the user's usage on `day` (UTC) atomically; the new total."""
        ...

    async def get_usage(self, user_id: str, day: dt.date, /) -> float:
        """The user's usage on `day` (UTC) in seconds; 0 if none."""
        ...


class QuotaNearlyExhausted(AvatarError):
    """Sent once, without closing, shortly before the quota runs out."""

    fault = ClientFault("quota_exceeded", None)


@dataclass(frozen=True)
class QuotaPolicy:
    """The default daily allowance (None: unlimited); a user's override (minutes, may be 0)
    replaces it."""

    default_minutes_per_day: float | None

    def __post_init__(self) -> None:
        minutes = self.default_minutes_per_day
        if minutes is not None and not minutes >= 0:
            raise ValueError("the daily quota must be zero or more minutes")

    def limit_s(self, override_minutes: float | None) -> float:
        """The daily allowance in seconds for a user with `override_minutes` (None: the
        default); infinite when neither sets one."""
        minutes = self.default_minutes_per_day if override_minutes is None else override_minutes
        if minutes is None:
            return math.inf
        if math.isnan(minutes) or minutes < 0:
            raise ValueError("a quota override must be zero or more minutes")
        return minutes * 60.0


@dataclass(frozen=True)
class QuotaStatus:
    """A user's position against today's allowance."""

    day: dt.date
    used_s: float
    limit_s: float

    @property
    def remaining_s(self) -> float:
        """Seconds left today (never negative)."""
        return max(0.0, self.limit_s - self.used_s)

    @property
    def exhausted(self) -> bool:
        """Nothing (or less than a rounding error) left today."""
        return self.remaining_s <= _EPSILON_S


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _exceeded(status: QuotaStatus) -> QuotaExceeded:
    minutes = f"{status.limit_s / 60:g}"
    return QuotaExceeded(
        f"today's conversation time is used up ({minutes} min per day); it resets at 00:00 UTC"
    )


class QuotaMeter:
    """Quota checks and charges for all users against one `UsageStore`."""

    def __init__(
        self,
        store: UsageStore,
        policy: QuotaPolicy,
        *,
        warn_before_s: float = 30.0,
        now: Callable[[], dt.datetime] = _utc_now,
        store_timeout_s: float = 5.0,
    ) -> None:
        self.store = store
        self.policy = policy
        self.warn_before_s = warn_before_s
        self._now = now
        self._timeout_s = store_timeout_s

    async def status(self, uid: str, override: float | None) -> QuotaStatus:
        """Today's usage for `uid`, without charging."""
        day = self._now().astimezone(dt.UTC).date()
        async with asyncio.timeout(self._timeout_s):
            used = await self.store.get_usage(uid, day)
        return QuotaStatus(day, used, self.policy.limit_s(override))

    async def check_at_hello(self, uid: str, override: float | None) -> QuotaStatus:
        """Admit a new session only if time remains today; `QuotaExceeded` otherwise."""
        status = await self.status(uid, override)
        if status.exhausted:
            raise _exceeded(status)
        return status

    async def charge(self, uid: str, seconds: float, override: float | None) -> QuotaStatus:
        """Add `seconds` ending now to the user's usage (atomically) and return the status.

        Time before 00:00 UTC goes to the previous day. Does not raise when exhausted.
        """
        if seconds < 0 or math.isnan(seconds):
            raise ValueError("cannot charge a negative duration")
        now = self._now().astimezone(dt.UTC)
        today = now.date()
        midnight = dt.datetime.combine(today, dt.time(0), dt.UTC)
        before_midnight = min(seconds, max(0.0, (midnight - now).total_seconds() + seconds))
        async with asyncio.timeout(self._timeout_s):
            if before_midnight > 0:
                await self.store.add_usage(uid, today - dt.timedelta(days=1), before_midnight)
            if seconds - before_midnight > 0:
                used = await self.store.add_usage(uid, today, seconds - before_midnight)
            else:
                used = await self.store.get_usage(uid, today)
        return QuotaStatus(today, used, self.policy.limit_s(override))

    def session(
        self,
        uid: str,
        override: float | None,
        *,
        status: QuotaStatus | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> SessionQuota:
        """A meter for one session, started now; pass `check_at_hello`'s status so the
        first warning or cut is timed from what was left at `hello`."""
        return SessionQuota(self, uid, override, status=status, clock=clock)


@dataclass(frozen=True)
class QuotaTick:
    """The result of one charge in a session; `warning` is set only the first time."""

    status: QuotaStatus
    warning: QuotaNearlyExhausted | None


class SessionQuota:
    """Charges one session's elapsed time; warns once; raises `QuotaExceeded` at the cut."""

    def __init__(
        self,
        meter: QuotaMeter,
        uid: str,
        override: float | None,
        *,
        status: QuotaStatus | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.meter = meter
        self.uid = uid
        self.override = override
        self._clock = clock
        self._last = clock()
        self._warned = False
        self.last_status = status
        self.charged_s = 0.0
        self._writes = OneWrite(f"quota-{uid}")

    async def tick(self) -> QuotaTick:
        """Charge the time since the last charge; `QuotaExceeded` when none remains."""
        tick = await self._charge_elapsed()
        if tick.status.exhausted:
            raise _exceeded(tick.status)
        return tick

    async def finish(self) -> QuotaStatus | None:
        """Charge the rest at session end (never raises `QuotaExceeded`; call in `finally`)."""
        try:
            # A tick cut short by the session's end may still land: this charge starts
            # after it, from where it left off (`one_write.py`).
            return (await self._charge_elapsed()).status
        except Exception:
            # The session is over either way; losing a few seconds beats a crash on close.
            log.warning("could not record the last seconds of usage", extra={"uid": self.uid})
            return None

    def next_tick_in_s(self, interval_s: float) -> float:
        """How long to wait before the next tick: the interval, or sooner for warning/cut."""
        status = self.last_status
        if status is None:
            return interval_s
        pending = self._clock() - self._last
        left = status.remaining_s - pending
        if not self._warned and left > self.meter.warn_before_s:
            left -= self.meter.warn_before_s
        return max(0.0, min(interval_s, left))

    async def enforce(
        self,
        on_warning: Callable[[QuotaNearlyExhausted], Awaitable[None]],
        *,
        interval_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> NoReturn:
        """Run for the whole session: tick every `interval_s`; raise `QuotaExceeded` at the cut.

        A failing store is logged and retried at the next tick; the unrecorded time is
        charged then, so a store hiccup neither ends the session nor loses usage.
        """
        if self.last_status is not None:
            warning = self._maybe_warn(self.last_status)
            if warning is not None:
                await on_warning(warning)
        delay = self.next_tick_in_s(interval_s)
        while True:
            await sleep(delay)
            try:
                tick = await self.tick()
            except QuotaExceeded:
                raise
            except Exception:
                log.warning("could not record usage; will retry", extra={"uid": self.uid})
                delay = interval_s  # a full interval: never spin on a failing store
                continue
            if tick.warning is not None:
                await on_warning(tick.warning)
            delay = self.next_tick_in_s(interval_s)

    async def _charge_elapsed(self) -> QuotaTick:
        return await self._writes.run(self._write_elapsed)

    async def _write_elapsed(self) -> QuotaTick:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        status = await self.meter.charge(self.uid, elapsed, self.override)
        # Advance only after the store accepted the charge, so a failure loses nothing.
        self._last = now
        self.charged_s += elapsed
        self.last_status = status
        return QuotaTick(status, self._maybe_warn(status))

    def _maybe_warn(self, status: QuotaStatus) -> QuotaNearlyExhausted | None:
        if self._warned or status.remaining_s > self.meter.warn_before_s:
            return None
        self._warned = True
        if status.exhausted:
            return None  # the cut itself says it
        return QuotaNearlyExhausted(
            f"about {math.ceil(status.remaining_s)} s of conversation left today"
        )
