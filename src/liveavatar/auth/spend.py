"""Per-user daily cost quota (`QUOTA_COST_PER_DAY`): checked at `hello`, charged per turn.

The minutes quota (`quota.py`) meters talk time; this one meters the estimated cost of the
user's turns, priced from their token usage by the price table in settings
(`live/pricing.py`). Either may be set, or both; whichever runs out first ends the day's
conversations. Days are UTC calendar days, as for minutes.

A turn's cost is known when Live reports its usage, so charges come from the Live reader,
which must never wait: `SessionSpend.charge` only notes the amount. The session's own task,
`SessionSpend.enforce`, adds it to the store with an atomic increment (which returns the
day's total, so concurrent sessions of one user never lose a cent), warns once when
`WARN_AT` of the day's budget is spent, and raises `QuotaExceeded` (close 4430) once all of
it is. A failing store keeps the amount pending and retries; the teardown charges whatever
is left (`finish`), once a write cut short by the session's end has landed or failed
(`one_write.py`: otherwise that write's amount was charged twice). Costs are recorded
with no cost quota too, so a quota switched on later in the day counts the day so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, Protocol

from liveavatar.errors import QuotaExceeded

from .one_write import OneWrite
from .quota import QuotaNearlyExhausted

log = logging.getLogger(__name__)

WARN_AT = 0.9  # of the day's budget spent: the one warning before the cut
RETRY_S = 10.0  # after a failed store write, the next try (or the next charge, if sooner)
_EPSILON_USD = 1e-9  # float sums of many small costs are not exact


class SpendStore(Protocol):
    """What the cost quota needs from the store (SQLite or Firestore): per-user, per-UTC-day
    estimated cost. `add_cost` must be an atomic increment returning the new total."""

    async def add_cost(self, user_id: str, day: dt.date, cost_usd: float, /) -> float:
        """Add `cost_usd` to the user's cost on `day` (UTC) atomically; the new total."""
        ...

    async def get_cost(self, user_id: str, day: dt.date, /) -> float:
        """The user's cost on `day` (UTC) in US dollars; 0 if none."""
        ...


@dataclass(frozen=True)
class SpendStatus:
    """A user's estimated cost today against the daily budget (None: no budget)."""

    day: dt.date
    spent_usd: float
    limit_usd: float | None

    @property
    def remaining_usd(self) -> float:
        """US dollars left today (infinite without a budget, never negative)."""
        return math.inf if self.limit_usd is None else max(0.0, self.limit_usd - self.spent_usd)

    @property
    def exhausted(self) -> bool:
        """The budget is spent (within float rounding)."""
        return self.limit_usd is not None and self.remaining_usd <= _EPSILON_USD

    @property
    def nearly_exhausted(self) -> bool:
        """`WARN_AT` of the budget or more is spent."""
        return self.limit_usd is not None and self.spent_usd >= WARN_AT * self.limit_usd


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _exceeded(status: SpendStatus) -> QuotaExceeded:
    return QuotaExceeded(
        f"today's conversation budget is used up (US$ {status.limit_usd:g} per day);"
        " it resets at 00:00 UTC"
    )


class SpendMeter:
    """Cost checks and charges for all users against one `SpendStore`."""

    def __init__(
        self,
        store: SpendStore,
        limit_usd_per_day: float | None,
        *,
        now: Callable[[], dt.datetime] = _utc_now,
        store_timeout_s: float = 5.0,
    ) -> None:
        """`limit_usd_per_day`: the daily budget per user, None for none (costs are still
        recorded)."""
        if limit_usd_per_day is not None and not limit_usd_per_day >= 0:
            raise ValueError("the daily cost quota must be zero or more")
        self.store = store
        self.limit_usd = limit_usd_per_day
        self._now = now
        self._timeout_s = store_timeout_s

    def _today(self) -> dt.date:
        return self._now().astimezone(dt.UTC).date()

    async def check_at_hello(self, uid: str) -> SpendStatus:
        """Admit a new session only if budget remains today; `QuotaExceeded` otherwise.
        Without a budget there is nothing to check (and nothing is read)."""
        day = self._today()
        if self.limit_usd is None:
            return SpendStatus(day, 0.0, None)
        async with asyncio.timeout(self._timeout_s):
            spent = await self.store.get_cost(uid, day)
        status = SpendStatus(day, spent, self.limit_usd)
        if status.exhausted:
            raise _exceeded(status)
        return status

    async def charge(self, uid: str, cost_usd: float) -> SpendStatus:
        """Add `cost_usd` to the user's cost today (atomically); the status after it."""
        if cost_usd < 0 or math.isnan(cost_usd):
            raise ValueError("cannot charge a negative cost")
        day = self._today()
        async with asyncio.timeout(self._timeout_s):
            spent = await self.store.add_cost(uid, day, cost_usd)
        return SpendStatus(day, spent, self.limit_usd)

    def session(self, uid: str, status: SpendStatus | None = None) -> SessionSpend:
        """A meter for one session; pass `check_at_hello`'s status."""
        return SessionSpend(self, uid, status)


class SessionSpend:
    """Charges one session's turn costs; warns once; raises `QuotaExceeded` at the cut."""

    def __init__(self, meter: SpendMeter, uid: str, status: SpendStatus | None = None) -> None:
        self.meter = meter
        self.uid = uid
        self.last_status = status
        self.charged_usd = 0.0
        self._pending = 0.0
        self._due = asyncio.Event()
        self._warned = False
        self._writes = OneWrite(f"spend-{uid}")

    def charge(self, cost_usd: float) -> None:
        """Note a finished turn's cost; `enforce` writes it. Never waits, never raises."""
        if cost_usd > 0 and math.isfinite(cost_usd):
            self._pending += cost_usd
            self._due.set()

    async def enforce(
        self, on_warning: Callable[[QuotaNearlyExhausted], Awaitable[None]]
    ) -> NoReturn:
        """Run for the whole session: write each charge as it comes; warn once near the
        budget; raise `QuotaExceeded` when it is spent."""
        retry: float | None = None
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(retry):
                    await self._due.wait()
            self._due.clear()
            try:
                status = await self._flush()
            except Exception:
                log.warning("could not record the cost of a turn; will retry")
                retry = RETRY_S
                continue
            retry = None
            if status is None:
                continue
            if status.exhausted:
                raise _exceeded(status)
            if status.nearly_exhausted and not self._warned:
                self._warned = True
                await on_warning(
                    QuotaNearlyExhausted(
                        f"about US$ {status.remaining_usd:.2f} of today's conversation"
                        " budget is left"
                    )
                )

    async def finish(self) -> SpendStatus | None:
        """Charge what is still pending at session end (never raises; call in `finally`)."""
        try:
            return await self._flush()  # after a write cut short (`one_write.py`)
        except Exception:
            log.warning("could not record the cost of the last turns", extra={"uid": self.uid})
            return None

    async def _flush(self) -> SpendStatus | None:
        return await self._writes.run(self._write)

    async def _write(self) -> SpendStatus | None:
        pending, self._pending = self._pending, 0.0
        if pending <= 0:
            return None
        try:
            status = await self.meter.charge(self.uid, pending)
        except BaseException:
            self._pending += pending  # kept for the next try: a failure loses nothing
            raise
        self.charged_usd += pending
        self.last_status = status
        return status
