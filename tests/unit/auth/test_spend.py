"""The cost quota: the check at hello, per-turn charges, the warning, the cut, UTC days;
and the minutes quota switched off (a quota in cost only)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict

import pytest

from liveavatar.auth import (
    AnonymousVerifier,
    Gatekeeper,
    QuotaMeter,
    QuotaNearlyExhausted,
    QuotaPolicy,
    SessionCap,
    SpendMeter,
    build_gatekeeper,
)
from liveavatar.auth.ratelimit import ConnectionRateLimiter
from liveavatar.auth.spend import SessionSpend
from liveavatar.errors import CLOSE_QUOTA_EXCEEDED, QuotaExceeded
from tests.support.auth_certs import FakeAuthSettings
from tests.unit.auth.test_quota import LandsLate, MemoryUsage

DAY = dt.date(2026, 3, 14)
NOW = dt.datetime(2026, 3, 14, 12, tzinfo=dt.UTC)


class MemoryCosts:
    """The SpendStore protocol in memory; `written` is set after each add, `fail` makes
    adds raise (and is counted in `failures`)."""

    def __init__(self) -> None:
        self.cost: dict[tuple[str, dt.date], float] = defaultdict(float)
        self.lock = asyncio.Lock()
        self.fail = False
        self.failures = 0
        self.reads = 0
        self.written = asyncio.Event()
        self.failed = asyncio.Event()

    async def add_cost(self, user_id: str, day: dt.date, cost_usd: float) -> float:
        if self.fail:
            self.failures += 1
            self.failed.set()
            raise ConnectionError("store unavailable")
        async with self.lock:
            self.cost[user_id, day] += cost_usd
            self.written.set()
            return self.cost[user_id, day]

    async def get_cost(self, user_id: str, day: dt.date) -> float:
        self.reads += 1
        return self.cost.get((user_id, day), 0.0)


class Clock:
    def __init__(self) -> None:
        self.at = NOW

    def __call__(self) -> dt.datetime:
        return self.at


def spend(store: MemoryCosts, limit: float | None = 1.0, clock: Clock | None = None) -> SpendMeter:
    return SpendMeter(store, limit, now=clock or Clock())


async def test_hello_is_refused_once_the_day_is_spent() -> None:
    store = MemoryCosts()
    m = spend(store)
    assert (await m.check_at_hello("u1")).remaining_usd == 1.0
    await m.charge("u1", 0.4)
    assert (await m.check_at_hello("u1")).remaining_usd == pytest.approx(0.6)
    await m.charge("u1", 0.6)
    with pytest.raises(QuotaExceeded) as info:
        await m.check_at_hello("u1")
    assert info.value.fault.close_code == CLOSE_QUOTA_EXCEEDED
    assert "US$ 1 per day" in str(info.value) and "00:00 UTC" in str(info.value)
    assert (await m.check_at_hello("u2")).spent_usd == 0.0  # per user


async def test_a_new_utc_day_starts_fresh() -> None:
    store, clock = MemoryCosts(), Clock()
    m = spend(store, clock=clock)
    await m.charge("u1", 2.0)
    with pytest.raises(QuotaExceeded):
        await m.check_at_hello("u1")
    # 20:30 in New York on the 14th is 00:30 UTC on the 15th.
    clock.at = dt.datetime(2026, 3, 14, 20, 30, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    status = await m.check_at_hello("u1")
    assert (status.day, status.spent_usd) == (dt.date(2026, 3, 15), 0.0)


async def test_without_a_budget_costs_are_recorded_never_refused() -> None:
    store = MemoryCosts()
    m = spend(store, limit=None)
    await m.charge("u1", 50.0)
    status = await m.check_at_hello("u1")
    assert not status.exhausted and status.limit_usd is None
    assert store.reads == 0  # nothing to check, nothing read
    assert store.cost["u1", DAY] == 50.0
    with pytest.raises(ValueError):
        SpendMeter(store, -1.0)
    with pytest.raises(ValueError):
        await m.charge("u1", -0.1)


async def test_charges_of_concurrent_sessions_add_up_exactly() -> None:
    store = MemoryCosts()
    m = spend(store, limit=None)
    statuses = await asyncio.gather(*(m.charge("u1", 0.25) for _ in range(8)))
    assert sorted(s.spent_usd for s in statuses) == [0.25 * n for n in range(1, 9)]


async def test_a_session_warns_once_then_is_cut_when_the_budget_is_spent() -> None:
    store = MemoryCosts()
    m = spend(store)
    session = m.session("u1", await m.check_at_hello("u1"))
    warnings: list[QuotaNearlyExhausted] = []
    warned = asyncio.Event()

    async def on_warning(warning: QuotaNearlyExhausted) -> None:
        warnings.append(warning)
        warned.set()

    task = asyncio.create_task(session.enforce(on_warning))
    session.charge(0.5)
    await store.written.wait()
    store.written.clear()
    assert not warnings and not task.done()
    session.charge(0.0)  # a turn that cost nothing changes nothing
    session.charge(0.45)  # 95 % spent: the one warning
    await warned.wait()
    assert "US$ 0.05" in str(warnings[0]) and warnings[0].fault.close_code is None
    session.charge(0.02)
    await store.written.wait()
    store.written.clear()
    assert len(warnings) == 1  # once
    session.charge(0.1)
    with pytest.raises(QuotaExceeded):
        await task
    assert session.charged_usd == pytest.approx(1.07)
    assert store.cost["u1", DAY] == pytest.approx(1.07)


async def test_a_failing_store_neither_ends_the_session_nor_loses_cost() -> None:
    store = MemoryCosts()
    m = spend(store)
    session = m.session("u1")

    async def ignore(warning: QuotaNearlyExhausted) -> None:
        return None

    task = asyncio.create_task(session.enforce(ignore))
    store.fail = True
    session.charge(0.3)
    await store.failed.wait()
    assert not task.done()
    store.fail = False
    session.charge(0.2)  # the next charge retries the one that failed with it
    await store.written.wait()
    assert store.cost["u1", DAY] == pytest.approx(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_finish_charges_what_is_pending_and_never_raises() -> None:
    store = MemoryCosts()
    session = spend(store).session("u1")
    assert await session.finish() is None  # nothing pending
    session.charge(0.7)
    status = await session.finish()
    assert status is not None and status.spent_usd == pytest.approx(0.7)
    session.charge(5.0)
    status = await session.finish()  # over budget: recorded, no exception
    assert status is not None and status.exhausted
    store.fail = True
    session.charge(0.1)
    assert await session.finish() is None


# ---- the gate with a cost quota, and a quota in cost only --------------------------------


def gate(
    usage: MemoryUsage, costs: MemoryCosts, minutes: float | None, budget: float
) -> Gatekeeper:
    return Gatekeeper(
        verifier=AnonymousVerifier(),
        users=_NoUsers(),
        quota=QuotaMeter(usage, QuotaPolicy(minutes), now=lambda: NOW),
        rate_limiter=ConnectionRateLimiter(10, 60),
        session_cap=SessionCap(2),
        spend=SpendMeter(costs, budget, now=lambda: NOW),
    )


class _NoUsers:
    async def ensure_user(self, identity: object) -> float | None:
        return None


async def test_hello_is_refused_by_cost_and_the_slot_given_back() -> None:
    usage, costs = MemoryUsage(), MemoryCosts()
    g = gate(usage, costs, minutes=30, budget=0.5)
    async with await g.admit(None, client_ip="192.0.2.1") as admission:
        assert admission.spend is not None and admission.spend.last_status is not None
        assert admission.spend.last_status.remaining_usd == 0.5
        admission.spend.charge(0.5)
        await admission.spend.finish()
    with pytest.raises(QuotaExceeded, match="budget"):
        await g.admit(None, client_ip="192.0.2.1")
    assert g.session_cap.held(admission.identity.uid) == 0


async def test_a_quota_in_cost_only_never_runs_out_of_minutes() -> None:
    usage, costs = MemoryUsage(), MemoryCosts()
    g = gate(usage, costs, minutes=None, budget=0.5)
    admission = await g.admit(None, client_ip="192.0.2.1")
    await usage.add_usage(admission.identity.uid, DAY, 10 * 3600.0)  # ten hours today
    status = await admission.quota.tick()  # the time is charged; nothing runs out
    assert status.status.remaining_s == float("inf") and not status.status.exhausted
    assert admission.quota.next_tick_in_s(10.0) == 10.0
    admission.release()
    assert QuotaPolicy(None).limit_s(None) == float("inf")
    assert QuotaPolicy(None).limit_s(1.0) == 60.0  # a user's own override still limits


def test_the_factory_meters_cost_only_with_a_store_for_it() -> None:
    settings = FakeAuthSettings(quota_cost_per_day=2.5, quota_minutes_per_day=None)
    g = build_gatekeeper(settings, users=_NoUsers(), usage=MemoryUsage(), spend=MemoryCosts())
    assert g.spend is not None and g.spend.limit_usd == 2.5
    assert g.quota.policy.default_minutes_per_day is None
    with pytest.raises(ValueError, match="QUOTA_COST_PER_DAY"):
        build_gatekeeper(settings, users=_NoUsers(), usage=MemoryUsage())
    plain = build_gatekeeper(FakeAuthSettings(), users=_NoUsers(), usage=MemoryUsage())
    assert plain.spend is None


class LandingCosts(LandsLate, MemoryCosts):
    async def add_cost(self, user_id: str, day: dt.date, cost_usd: float) -> float:
        return await self.land(lambda: MemoryCosts.add_cost(self, user_id, day, cost_usd))


async def cut_short(store: LandingCosts, cost: float) -> SessionSpend:
    """A session whose charge of `cost` is being written when its spend task is cancelled
    (the page closed just after a turn); the write has not landed yet."""
    session = spend(store, limit=None).session("u1")

    async def ignore(warning: QuotaNearlyExhausted) -> None:
        return None

    task = asyncio.create_task(session.enforce(ignore))
    session.charge(cost)
    await store.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return session


async def test_a_charge_cut_short_by_the_session_end_is_written_once() -> None:
    store = LandingCosts()
    session = await cut_short(store, 0.25)
    store.gate.set()
    status = await session.finish()  # the teardown charges what is left
    assert store.cost["u1", DAY] == pytest.approx(0.25)
    assert session.charged_usd == pytest.approx(0.25)
    assert status is None or status.spent_usd == pytest.approx(0.25)


async def test_a_cut_short_charge_that_fails_is_charged_by_the_teardown() -> None:
    store = LandingCosts()
    session = await cut_short(store, 0.25)
    store.fail = True  # the write in flight fails after its caller is gone
    store.gate.set()
    await store.failed.wait()
    store.fail = False
    session.charge(0.5)
    status = await session.finish()
    assert status is not None and status.spent_usd == pytest.approx(0.75)
    assert store.cost["u1", DAY] == pytest.approx(0.75)
