"""Admission of one browser session: the order of checks, in one place.

At WebSocket accept: `Gatekeeper.check_connection(ip)` (per-address rate limit, before any
other work). At `hello`: `await Gatekeeper.admit(token, client_ip=ip)`, which verifies the
token, creates the user on first sign-in (`UserDirectory.ensure_user`), takes a session
slot, and checks the daily quotas (minutes, and cost when `QUOTA_COST_PER_DAY` is set); if a
quota check fails the slot is given back. The returned `Admission` holds the slot and the
session's quota meters; release it in `finally` (or `async with admission:`). Every
refusal is an `AvatarError` with its close code.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

from liveavatar.errors import Forbidden

from .config import AUTH_EMULATOR_VARIABLE, AuthSettings, firebase_project
from .emulator_tokens import EmulatorVerifier
from .quota import QuotaMeter, QuotaPolicy, QuotaStatus, SessionQuota, UsageStore
from .ratelimit import ConnectionRateLimiter, SessionCap, SessionSlot
from .spend import SessionSpend, SpendMeter, SpendStore
from .tokens import AnonymousVerifier, FirebaseVerifier, Identity, TokenVerifier


class UserDirectory(Protocol):
    """Users as the store keeps them (implemented by the store, or a thin adapter)."""

    async def ensure_user(self, identity: Identity, /) -> float | None:
        """Create the user on first sign-in (idempotent, updating email/last seen as
        wanted); return their quota override in minutes per day, or None for the default."""
        ...


class _QuotaUser(Protocol):
    @property
    def quota_minutes_per_day(self) -> float | None: ...

    @property
    def blocked(self) -> bool: ...


class UserRecords(Protocol):
    """The store's user API (`liveavatar.store.Store` has it)."""

    async def ensure_user(self, id: str, email: str, /) -> _QuotaUser:
        """The user, created on first sign-in (idempotent)."""
        ...


class StoreUsers:
    """`UserDirectory` over the store: anonymous users are stored with an empty email."""

    def __init__(self, records: UserRecords) -> None:
        self.records = records

    async def ensure_user(self, identity: Identity, /) -> float | None:
        """Create the user on first sign-in; their quota override (None: the default).

        Raises `Forbidden` (4403) for a user an admin blocked.
        """
        user = await self.records.ensure_user(identity.uid, identity.email or "")
        if user.blocked:
            raise Forbidden("This account has been blocked.")
        return user.quota_minutes_per_day


@dataclass
class Admission:
    """An admitted session: who, their quota meters (time; cost, when the gate meters it),
    and the held session slot."""

    identity: Identity
    override_minutes: float | None
    status: QuotaStatus
    quota: SessionQuota
    slot: SessionSlot = field(repr=False)
    spend: SessionSpend | None = None

    def release(self) -> None:
        """Give back the session slot (idempotent)."""
        self.slot.release()

    async def __aenter__(self) -> Admission:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


class Gatekeeper:
    """Rate limit, identity, user record, session cap and quota, in that order."""

    def __init__(
        self,
        *,
        verifier: TokenVerifier,
        users: UserDirectory,
        quota: QuotaMeter,
        rate_limiter: ConnectionRateLimiter | None = None,
        session_cap: SessionCap | None = None,
        spend: SpendMeter | None = None,
        store_timeout_s: float = 5.0,
    ) -> None:
        """`spend` meters the estimated cost of each user's turns (and enforces a cost
        quota when it has a limit); None: costs are not metered."""
        self.verifier = verifier
        self.users = users
        self.quota = quota
        self.spend = spend
        # `is None`, not `or`: an empty limiter is falsy (it has a length).
        self.rate_limiter = ConnectionRateLimiter() if rate_limiter is None else rate_limiter
        self.session_cap = SessionCap() if session_cap is None else session_cap
        self._store_timeout_s = store_timeout_s

    def check_connection(self, client_ip: str) -> None:
        """Count a new connection from `client_ip`; `RateLimited` (4429) when over the limit."""
        self.rate_limiter.check(client_ip)

    async def admit(self, token: str | None, *, client_ip: str | None = None) -> Admission:
        """Admit the session announced by `hello`, or raise `Unauthorized` (4401),
        `Forbidden` (4403, a blocked user), `RateLimited` (4429, too many sessions) or
        `QuotaExceeded` (4430)."""
        identity = await self.verifier.verify(token, client_ip=client_ip)
        async with asyncio.timeout(self._store_timeout_s):
            override = await self.users.ensure_user(identity)
        slot = self.session_cap.acquire(identity.uid)
        try:
            status = await self.quota.check_at_hello(identity.uid, override)
            spent = None if self.spend is None else await self.spend.check_at_hello(identity.uid)
        except BaseException:
            slot.release()
            raise
        meter = self.quota.session(identity.uid, override, status=status)
        spend = None if self.spend is None else self.spend.session(identity.uid, spent)
        return Admission(identity, override, status, meter, slot, spend)


def build_verifier(settings: AuthSettings) -> TokenVerifier:
    """Firebase verification when `auth_enabled` (Firebase anonymous sign-ins accepted only
    with `auth_allow_anonymous`), the anonymous local identity otherwise."""
    if not settings.auth_enabled:
        return AnonymousVerifier()
    project = firebase_project(settings)
    if not project:
        raise ValueError("AUTH_ENABLED needs FIREBASE_PROJECT_ID (or PROJECT_ID)")
    emulator = os.environ.get(AUTH_EMULATOR_VARIABLE)
    if emulator and settings.environment != "production":
        # Local and test runs against the Auth emulator (production refuses the variable).
        return EmulatorVerifier(
            project_id=project,
            emulator_host=emulator,
            allow_anonymous=settings.auth_allow_anonymous,
        )
    return FirebaseVerifier(
        project_id=project,
        certs_url=settings.firebase_certs_url,
        allow_anonymous=settings.auth_allow_anonymous,
    )


def build_gatekeeper(
    settings: AuthSettings,
    *,
    users: UserDirectory,
    usage: UsageStore,
    spend: SpendStore | None = None,
) -> Gatekeeper:
    """The gatekeeper these settings describe, over the given store (`spend`: where each
    user's daily cost is kept; needed for `QUOTA_COST_PER_DAY`)."""
    if spend is None and settings.quota_cost_per_day is not None:
        raise ValueError("QUOTA_COST_PER_DAY needs a store that keeps costs")
    return Gatekeeper(
        verifier=build_verifier(settings),
        users=users,
        quota=QuotaMeter(
            usage,
            QuotaPolicy(settings.quota_minutes_per_day),
            warn_before_s=settings.quota_warn_before_s,
        ),
        rate_limiter=ConnectionRateLimiter(
            settings.rate_limit_connections, settings.rate_limit_window_s
        ),
        session_cap=SessionCap(settings.max_sessions_per_user),
        spend=None if spend is None else SpendMeter(spend, settings.quota_cost_per_day),
    )
