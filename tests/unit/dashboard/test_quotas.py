"""Users' limits as the Users page words them."""

from __future__ import annotations

import datetime as dt

from liveavatar.dashboard.quotas import describe_limit, effective_limit, user_rows
from liveavatar.store.day_totals import UserDay
from liveavatar.store.models import User

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _user(
    uid: str, quota: float | None = None, blocked: bool = False, email: str | None = None
) -> User:
    return User(
        id=uid,
        email=f"{uid}@x.test" if email is None else email,
        quota_minutes_per_day=quota,
        blocked=blocked,
        created_at=NOW,
    )


def test_limits() -> None:
    assert effective_limit(_user("a"), 30) == 30
    assert effective_limit(_user("a", 0), 30) == 0  # an own limit of 0 is a limit, not "unset"
    assert effective_limit(_user("a"), None) is None
    assert describe_limit(_user("a", 12.5), 30) == "12.5 min (own)"
    assert describe_limit(_user("a"), None) == "no limit (global)"


def test_rows_take_today_from_usage() -> None:
    rows = user_rows(
        [_user("a"), _user("b", 10, blocked=True)],
        [UserDay(user_id="b", date="2026-01-01", seconds=90)],
        30,
    )
    assert [(r.id, r.used_today_min, r.limit, r.blocked) for r in rows] == [
        ("a", 0.0, "30 min (global)", False),
        ("b", 1.5, "10 min (own)", True),
    ]


def test_a_user_without_an_email_is_shown_as_anonymous() -> None:
    # How the gate stores a Firebase anonymous sign-in (the widget's visitors).
    rows = user_rows([_user("a"), _user("guest", email="")], [], 30)
    assert [(r.id, r.account) for r in rows] == [("a", "signed in"), ("guest", "anonymous")]
