"""The admission order: identity, user record, session cap, quota."""

from __future__ import annotations

import datetime as dt

import pytest

from liveavatar.auth import (
    AnonymousVerifier,
    Gatekeeper,
    Identity,
    QuotaMeter,
    QuotaPolicy,
    SessionCap,
    StoreUsers,
    build_gatekeeper,
)
from liveavatar.auth.ratelimit import ConnectionRateLimiter, TooManySessions
from liveavatar.errors import Forbidden, QuotaExceeded, Unauthorized
from tests.support.auth_certs import FakeAuthSettings
from tests.unit.auth.test_quota import MemoryUsage

NOW = dt.datetime(2026, 3, 14, 12, tzinfo=dt.UTC)


class Users:
    def __init__(self, overrides: dict[str, float | None] | None = None) -> None:
        self.seen: list[Identity] = []
        self.overrides = overrides or {}

    async def ensure_user(self, identity: Identity) -> float | None:
        self.seen.append(identity)
        return self.overrides.get(identity.uid)


class Refuse:
    async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
        raise Unauthorized("no")


def gate(users: Users, usage: MemoryUsage, verifier: object = None, cap: int = 2) -> Gatekeeper:
    return Gatekeeper(
        verifier=verifier or AnonymousVerifier(),  # type: ignore[arg-type]
        users=users,
        quota=QuotaMeter(usage, QuotaPolicy(30), now=lambda: NOW),
        rate_limiter=ConnectionRateLimiter(2, 60),
        session_cap=SessionCap(cap),
    )


async def test_admit_creates_the_user_and_holds_a_slot() -> None:
    users, usage = Users(), MemoryUsage()
    g = gate(users, usage)
    async with await g.admit("tok", client_ip="192.0.2.1") as admission:
        assert users.seen == [admission.identity]
        assert g.session_cap.held(admission.identity.uid) == 1
        assert admission.status.remaining_s == 1800
        assert admission.quota.uid == admission.identity.uid
    assert g.session_cap.held(admission.identity.uid) == 0


async def test_quota_refusal_gives_the_slot_back() -> None:
    uid = (await AnonymousVerifier().verify(None, client_ip="192.0.2.1")).uid
    users, usage = Users({uid: 0.0}), MemoryUsage()
    g = gate(users, usage)
    with pytest.raises(QuotaExceeded):
        await g.admit(None, client_ip="192.0.2.1")
    assert g.session_cap.held(uid) == 0


async def test_unverified_callers_touch_nothing() -> None:
    users, usage = Users(), MemoryUsage()
    with pytest.raises(Unauthorized):
        await gate(users, usage, verifier=Refuse()).admit("bad")
    assert users.seen == []


async def test_session_cap_applies_per_user() -> None:
    g = gate(Users(), MemoryUsage(), cap=1)
    first = await g.admit(None, client_ip="192.0.2.1")
    with pytest.raises(TooManySessions):
        await g.admit(None, client_ip="192.0.2.1")
    (await g.admit(None, client_ip="192.0.2.2")).release()
    first.release()


def test_connection_check_and_factory() -> None:
    g = build_gatekeeper(
        FakeAuthSettings(rate_limit_connections=1, max_sessions_per_user=4),
        users=Users(),
        usage=MemoryUsage(),
    )
    g.check_connection("192.0.2.9")
    with pytest.raises(Exception, match="too many connections"):
        g.check_connection("192.0.2.9")
    assert g.session_cap.max_per_user == 4
    assert g.quota.policy.default_minutes_per_day == 30


class FakeRecord:
    def __init__(self, quota: float | None, blocked: bool = False) -> None:
        self.quota_minutes_per_day = quota
        self.blocked = blocked


class Records:
    def __init__(self, blocked: frozenset[str] = frozenset()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.blocked = blocked

    async def ensure_user(self, id: str, email: str) -> FakeRecord:
        self.calls.append((id, email))
        return FakeRecord(12.5, id in self.blocked)


async def test_store_users_adapts_the_store_api() -> None:
    records = Records()
    users = StoreUsers(records)
    assert await users.ensure_user(Identity("u1", "ada@example.com", False)) == 12.5
    assert await users.ensure_user(Identity("guest", None, True)) == 12.5
    assert records.calls == [("u1", "ada@example.com"), ("guest", "")]


async def test_a_blocked_user_is_forbidden_and_takes_no_slot() -> None:
    uid = (await AnonymousVerifier().verify(None, client_ip="192.0.2.1")).uid
    g = gate(Users(), MemoryUsage())
    g.users = StoreUsers(Records(blocked=frozenset({uid})))
    with pytest.raises(Forbidden) as caught:
        await g.admit(None, client_ip="192.0.2.1")
    assert caught.value.fault.close_code == 4403
    assert g.session_cap.held(uid) == 0
    (await g.admit(None, client_ip="192.0.2.2")).release()  # another user is admitted
