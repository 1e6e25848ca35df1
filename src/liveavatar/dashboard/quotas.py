"""Users' daily limits as the Users page shows them (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from liveavatar.store.day_totals import UserDay
from liveavatar.store.models import User


def effective_limit(user: User, global_minutes: float | None) -> float | None:
    """The user's own limit if set, else the global one (None: no limit)."""
    if user.quota_minutes_per_day is not None:
        return user.quota_minutes_per_day
    return global_minutes


def describe_limit(user: User, global_minutes: float | None) -> str:
    """The limit in words, saying where it comes from."""
    limit = effective_limit(user, global_minutes)
    text = "no limit" if limit is None else f"{limit:g} min"
    return text + (" (own)" if user.quota_minutes_per_day is not None else " (global)")


def account_kind(user: User) -> str:
    """How the user came in: "anonymous" for a guest (a Firebase anonymous sign-in, e.g. a
    widget visitor, or anyone while sign-in is off: the gate stores both without an
    email), else "signed in"."""
    return "signed in" if user.email else "anonymous"


@dataclass(frozen=True)
class UserRow:
    id: str
    account: str
    email: str
    used_today_min: float
    limit: str
    blocked: bool


def user_rows(
    users: Sequence[User], today: Iterable[UserDay], global_minutes: float | None
) -> list[UserRow]:
    """One row per user, with today's talk minutes (from the day's usage records)."""
    seconds = {d.user_id: d.seconds for d in today}
    return [
        UserRow(
            id=u.id,
            account=account_kind(u),
            email=u.email,
            used_today_min=round(seconds.get(u.id, 0.0) / 60, 2),
            limit=describe_limit(u, global_minutes),
            blocked=u.blocked,
        )
        for u in users
    ]
