"""Validation and encoding shared by both backends, so they accept and order the same things."""

from __future__ import annotations

import datetime as dt

from liveavatar.store.models import TokenSums, TurnRecord

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
_US = dt.timedelta(microseconds=1)
MAX_PAGE = 1000
# Firestore document ids are at most 1500 bytes and may not contain "/"; SQLite takes
# anything. Refusing the same ids everywhere keeps the backends interchangeable.
_MAX_ID_BYTES = 1500


def check_id(value: str, what: str = "id") -> str:
    """A document id both backends can store, or ValueError."""
    if not value or "/" in value or value in (".", "..") or value.startswith("__"):
        raise ValueError(f"invalid {what}: {value!r}")
    if len(value.encode("utf-8")) > _MAX_ID_BYTES:
        raise ValueError(f"{what} is longer than {_MAX_ID_BYTES} bytes")
    return value


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    return limit


def utc(at: dt.datetime) -> dt.datetime:
    """The same instant in UTC; naive datetimes are refused (their zone is a guess)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return at.astimezone(UTC)


def to_us(at: dt.datetime) -> int:
    """Microseconds since the epoch: exact, and Firestore's timestamp precision."""
    return (utc(at) - EPOCH) // _US


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def plain_utc(at: dt.datetime) -> dt.datetime:
    """A plain `datetime` in UTC (Firestore returns a nanosecond subclass)."""
    return from_us(to_us(at))


def day_str(date: dt.date | str) -> str:
    """A UTC day as `YYYY-MM-DD`, validated."""
    if isinstance(date, dt.datetime):
        # A datetime is a date too; take its UTC day rather than its local one.
        return utc(date).date().isoformat()
    if isinstance(date, dt.date):
        return date.isoformat()
    try:
        return dt.date.fromisoformat(date).isoformat()
    except ValueError:
        raise ValueError(f"not a YYYY-MM-DD day: {date!r}") from None


def day_range(start: dt.date | str, end: dt.date | str) -> list[str]:
    """Every day from start to end inclusive (empty when end is before start)."""
    first = dt.date.fromisoformat(day_str(start))
    last = dt.date.fromisoformat(day_str(end))
    if (last - first).days > 3660:
        raise ValueError("a daily range may span at most ten years")
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def sort_key(at: dt.datetime, id: str | None = None) -> str:
    """A string that sorts like (timestamp, id).

    Firestore's emulator ignores cursors and ordering by document name, so pagination is a
    `where` on this one field. With no id it is a prefix of every key at that instant, hence
    sorts before all of them: `key < sort_key(t)` means "started strictly before t".
    """
    us = to_us(at)
    if us < 0:
        raise ValueError("timestamps before 1970 are not supported")
    prefix = f"{us:017d}"
    return prefix if id is None else f"{prefix}|{id}"


def nonneg(**values: float) -> None:
    """Counters only grow: a negative increment is a caller bug."""
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{name} must not be negative")


def daily_values(
    *,
    sessions: int = 0,
    turns: int = 0,
    latency_ms: float = 0.0,
    latency_count: int = 0,
    duration_s: float = 0.0,
    ended_sessions: int = 0,
    errors: int = 0,
    prompt_tokens: int = 0,
    response_tokens: int = 0,
    tokens: TokenSums | None = None,
) -> tuple[float, ...]:
    """A day's increments in `Store.increment_daily`'s keyword order, then `tokens`' sums
    (`models.TOKEN_SUMS`), which is also the order of each backend's column list;
    ValueError if one is negative (a `TokenSums` cannot be)."""
    nonneg(
        sessions=sessions,
        turns=turns,
        latency_ms=latency_ms,
        latency_count=latency_count,
        duration_s=duration_s,
        ended_sessions=ended_sessions,
        errors=errors,
        prompt_tokens=prompt_tokens,
        response_tokens=response_tokens,
    )
    # int() also turns a bool into a number; Firestore would store True as a boolean.
    return (
        int(sessions),
        int(turns),
        float(latency_ms),
        int(latency_count),
        float(duration_s),
        int(ended_sessions),
        int(errors),
        int(prompt_tokens),
        int(response_tokens),
        *token_values(tokens or _NO_TOKENS),
    )


_NO_TOKENS = TokenSums()


def token_values(tokens: TokenSums) -> tuple[float, ...]:
    """The sums in `models.TOKEN_SUMS` order: counts as ints, the cost as a float."""
    return tuple(v if isinstance(v, float) else int(v) for v in tokens.model_dump().values())


def turn_daily(turn: TurnRecord) -> tuple[str, tuple[float, ...]]:
    """What a newly stored turn adds to the day's totals, and that day (its end's UTC day).

    Both backends write this in the same atomic write as the turn itself, so a turn is in
    the day's totals exactly when it is stored.
    """
    return day_str(turn.ended_at), daily_values(
        turns=1,
        latency_ms=turn.turn_latency_ms,
        latency_count=1,
        prompt_tokens=turn.prompt_tokens,
        response_tokens=turn.response_tokens,
        tokens=turn.tokens(),
    )


def end_daily(at: dt.datetime, duration_s: float, errors: int) -> tuple[str, tuple[float, ...]]:
    """What the end of one session of a conversation adds to the day's totals (the UTC day
    of `at`), written atomically with that session's end marker, so it is counted once."""
    return day_str(at), daily_values(ended_sessions=1, duration_s=duration_s, errors=errors)


def end_marker(part: str) -> str:
    """The id of the marker that records the end of session `part` of a conversation;
    ValueError if the part could not be stored by both backends.

    The default part "" keeps the id every end had before sessions were told apart
    ("ended"), so an end recorded then is still recognised when it is retried.
    """
    return "ended" if part == "" else check_id(f"ended-{part}", "part")
