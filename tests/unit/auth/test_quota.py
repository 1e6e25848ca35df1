"""Daily quota: the check at hello, charges, the warning, overrides and UTC days."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable

import pytest

from liveavatar.auth import QuotaMeter, QuotaNearlyExhausted, QuotaPolicy, UsageStore
from liveavatar.errors import CLOSE_QUOTA_EXCEEDED, QuotaExceeded

DAY = dt.date(2026, 3, 14)


class MemoryUsage:
    """The UsageStore protocol in memory; the lock makes add-and-read one step."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, dt.date], float] = defaultdict(float)
        self.lock = asyncio.Lock()
        self.fail = False

    async def add_usage(self, user_id: str, day: dt.date, seconds: float) -> float:
        if self.fail:
            raise ConnectionError("store unavailable")
        async with self.lock:
            self.seconds[user_id, day] += seconds
            return self.seconds[user_id, day]

    async def get_usage(self, user_id: str, day: dt.date) -> float:
        if self.fail:
            raise ConnectionError("store unavailable")
        return self.seconds.get((user_id, day), 0.0)


class Now:
    """Wall clock (UTC) and monotonic clock moving together."""

    def __init__(self, start: dt.datetime) -> None:
        self.at = start
        self.mono = 0.0

    def __call__(self) -> dt.datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)
        self.mono += seconds

    async def sleep(self, seconds: float) -> None:
        """The injected sleep: time passes, nothing waits."""
        self.advance(seconds)


def meter(store: UsageStore, now: Now, minutes: float = 1.0) -> QuotaMeter:
    return QuotaMeter(store, QuotaPolicy(minutes), warn_before_s=30, now=now)


@pytest.fixture
def now() -> Now:
    return Now(dt.datetime(2026, 3, 14, 12, 0, tzinfo=dt.UTC))


async def test_hello_is_admitted_while_time_remains(now: Now) -> None:
    store = MemoryUsage()
    status = await meter(store, now).check_at_hello("u1", None)
    assert (status.limit_s, status.remaining_s, status.day) == (60.0, 60.0, DAY)


async def test_hello_is_refused_once_the_day_is_used_up(now: Now) -> None:
    store = MemoryUsage()
    await store.add_usage("u1", DAY, 60.0)
    with pytest.raises(QuotaExceeded) as info:
        await meter(store, now).check_at_hello("u1", None)
    assert info.value.fault.code == "quota_exceeded"
    assert info.value.fault.close_code == CLOSE_QUOTA_EXCEEDED
    assert "1 min per day" in str(info.value) and "00:00 UTC" in str(info.value)


async def test_per_user_override_replaces_the_default(now: Now) -> None:
    store = MemoryUsage()
    await store.add_usage("u1", DAY, 90.0)
    m = meter(store, now)
    assert (await m.check_at_hello("u1", 2.0)).remaining_s == 30.0
    with pytest.raises(QuotaExceeded):
        await m.check_at_hello("u2", 0.0)  # an override of 0 blocks the user
    with pytest.raises(ValueError):
        await m.check_at_hello("u2", -1.0)


async def test_charges_accumulate_atomically(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now)
    statuses = await asyncio.gather(*(m.charge("u1", 5.0, None) for _ in range(6)))
    assert sorted(s.used_s for s in statuses) == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert store.seconds["u1", DAY] == 30.0


async def test_a_new_utc_day_starts_fresh(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now)
    await m.charge("u1", 60.0, None)
    with pytest.raises(QuotaExceeded):
        await m.check_at_hello("u1", None)
    now.at = dt.datetime(2026, 3, 15, 0, 0, 1, tzinfo=dt.UTC)
    assert (await m.check_at_hello("u1", None)).remaining_s == 60.0


async def test_a_charge_across_midnight_is_split(now: Now) -> None:
    store = MemoryUsage()
    now.at = dt.datetime(2026, 3, 15, 0, 0, 4, tzinfo=dt.UTC)
    status = await meter(store, now).charge("u1", 10.0, None)
    assert store.seconds["u1", DAY] == pytest.approx(6.0)
    assert status.used_s == pytest.approx(4.0)
    assert status.day == dt.date(2026, 3, 15)


async def test_local_times_are_read_as_utc(now: Now) -> None:
    store = MemoryUsage()
    # 23:30 in New York on the 14th is 03:30 UTC on the 15th.
    now.at = dt.datetime(2026, 3, 14, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert (await meter(store, now).charge("u1", 1.0, None)).day == dt.date(2026, 3, 15)


async def test_session_ticks_warn_once_then_cut(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now)
    session = m.session("u1", None, status=await m.check_at_hello("u1", None), clock=now.monotonic)
    now.advance(20)
    tick = await session.tick()
    assert tick.warning is None and tick.status.remaining_s == 40.0
    now.advance(15)
    tick = await session.tick()
    assert isinstance(tick.warning, QuotaNearlyExhausted)
    assert tick.warning.fault.close_code is None  # a warning, not a close
    assert tick.warning.fault.code == "quota_exceeded"
    assert "25 s" in str(tick.warning)
    now.advance(5)
    assert (await session.tick()).warning is None  # only once
    now.advance(25)
    with pytest.raises(QuotaExceeded):
        await session.tick()
    assert store.seconds["u1", DAY] == 65.0


async def test_next_tick_lands_on_the_warning_and_the_cut(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now)
    session = m.session("u1", None, status=await m.check_at_hello("u1", None), clock=now.monotonic)
    assert session.next_tick_in_s(10) == 10
    now.advance(25)
    await session.tick()  # 35 s left: next wake-up is at the 30 s warning point
    assert session.next_tick_in_s(10) == pytest.approx(5)
    now.advance(5)
    assert (await session.tick()).warning is not None
    assert session.next_tick_in_s(60) == pytest.approx(30)  # then exactly at the cut


async def test_enforce_warns_then_raises_at_the_cut(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now)
    session = m.session("u1", None, status=await m.check_at_hello("u1", None), clock=now.monotonic)
    warnings: list[tuple[float, str]] = []

    async def on_warning(w: QuotaNearlyExhausted) -> None:
        warnings.append((now.mono, str(w)))

    with pytest.raises(QuotaExceeded):
        await session.enforce(on_warning, interval_s=10, sleep=now.sleep)
    assert warnings == [(30.0, "about 30 s of conversation left today")]
    assert now.mono == pytest.approx(60.0)  # cut on time, not an interval late
    assert store.seconds["u1", DAY] == pytest.approx(60.0)


async def test_enforce_warns_at_once_when_hello_had_little_left(now: Now) -> None:
    store = MemoryUsage()
    await store.add_usage("u1", DAY, 50.0)
    m = meter(store, now)
    session = m.session("u1", None, status=await m.check_at_hello("u1", None), clock=now.monotonic)
    warnings: list[float] = []

    async def on_warning(w: QuotaNearlyExhausted) -> None:
        warnings.append(now.mono)

    with pytest.raises(QuotaExceeded):
        await session.enforce(on_warning, interval_s=10, sleep=now.sleep)
    assert warnings == [0.0]
    assert now.mono == pytest.approx(10.0)


async def test_a_failing_store_neither_ends_the_session_nor_loses_time(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now, minutes=10)
    session = m.session("u1", None, status=await m.check_at_hello("u1", None), clock=now.monotonic)
    sleeps = 0

    async def sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        store.fail = sleeps <= 3  # three failed ticks, then the store is back
        await now.sleep(seconds)
        if sleeps == 5:
            raise asyncio.CancelledError  # the session ends

    async def ignore(w: QuotaNearlyExhausted) -> None:
        pass

    with pytest.raises(asyncio.CancelledError):
        await session.enforce(ignore, interval_s=10, sleep=sleep)
    assert store.seconds["u1", DAY] == pytest.approx(40.0)  # all four intervals, late
    now.advance(3)
    final = await session.finish()
    assert final is not None and final.used_s == pytest.approx(53.0)  # 40 + 10 + 3


async def test_finish_never_raises(now: Now) -> None:
    store = MemoryUsage()
    m = meter(store, now)
    session = m.session("u1", None, clock=now.monotonic)
    now.advance(120)
    assert (await session.finish()) is not None  # over quota: recorded, no exception
    store.fail = True
    assert await session.finish() is None


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        QuotaPolicy(-1)
    assert QuotaPolicy(30).limit_s(None) == 1800
    assert QuotaPolicy(30).limit_s(0.5) == 30


class LandsLate:
    """A store's writes that land even when their caller is cancelled, as the real stores'
    do (the SQLite worker thread goes on): each waits for `gate` first, and `entered` is
    set once one has begun. Mixed in before the memory store it delays."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def land(self, write: Callable[[], Awaitable[float]]) -> float:
        async def later() -> float:
            self.entered.set()
            await self.gate.wait()
            return await write()

        return await asyncio.shield(asyncio.ensure_future(later()))


class LandingUsage(LandsLate, MemoryUsage):
    async def add_usage(self, user_id: str, day: dt.date, seconds: float) -> float:
        return await self.land(lambda: MemoryUsage.add_usage(self, user_id, day, seconds))


async def test_a_tick_cut_short_by_the_session_end_is_charged_once(now: Now) -> None:
    store = LandingUsage()
    m = meter(store, now, minutes=10)
    session = m.session("u1", None, clock=now.monotonic)

    async def ignore(w: QuotaNearlyExhausted) -> None:
        pass

    task = asyncio.create_task(session.enforce(ignore, interval_s=10, sleep=now.sleep))
    await store.entered.wait()  # the first tick's 10 s are being written
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.gate.set()
    now.advance(3)
    final = await session.finish()
    assert final is not None and final.used_s == pytest.approx(13.0)
    assert store.seconds["u1", DAY] == pytest.approx(13.0)
    assert session.charged_s == pytest.approx(13.0)
