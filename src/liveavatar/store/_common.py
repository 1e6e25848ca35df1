"""Validation and encoding shared by both backends, so they accept and order the same things."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction

from liveavatar.store.day_totals import COUNTER_NAME_PATTERN, DailyLatency
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


def percentile(values: Iterable[float], p: float) -> float | None:
    """The nearest-rank `p`-th percentile (0 < p <= 100): the value at rank ceil(p/100 * n)
    of the sorted values, so always one of them; None for no values.

    Exact: the rank is computed on fractions, so ceil(95/100 * 20) is 19, not 20.
    """
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = math.ceil(Fraction(p) * len(ordered) / 100)
    return ordered[max(rank, 1) - 1]


def daily_latency(
    days: list[str], turns: Iterable[tuple[str, float | None, float]]
) -> list[DailyLatency]:
    """Each of `days` with the p50/p95 of its turns' (day, time to first audio or None,
    turn latency): what both backends' `daily_latency` return once they have the turns."""
    ttfa: dict[str, list[float]] = {d: [] for d in days}
    latency: dict[str, list[float]] = {d: [] for d in days}
    for day, first_audio, turn_latency in turns:
        if day not in latency:
            continue  # a bound's rounding may bring a turn just outside the range
        latency[day].append(turn_latency)
        if first_audio is not None:
            ttfa[day].append(first_audio)
    return [
        DailyLatency(
            date=d,
            turns=len(latency[d]),
            ttfa_p50_ms=percentile(ttfa[d], 50),
            ttfa_p95_ms=percentile(ttfa[d], 95),
            latency_p50_ms=percentile(latency[d], 50),
            latency_p95_ms=percentile(latency[d], 95),
        )
        for d in days
    ]


def day_bounds(days: list[str]) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of the first day and the first instant after the last one (UTC)."""
    first = dt.datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    last = dt.datetime.fromisoformat(days[-1]).replace(tzinfo=UTC)
    return first, last + dt.timedelta(days=1)


_COUNTER_NAME = re.compile(COUNTER_NAME_PATTERN)
# One call's counters go in one atomic write (a Firestore batch takes at most 500).
MAX_COUNTERS = 100


def counter_values(counters: Mapping[str, int] | None) -> dict[str, int]:
    """The non-zero increments of `counters`, names checked against COUNTER_NAME_PATTERN;
    ValueError for a bad name, a negative or non-integer count, or too many names."""
    if not counters:
        return {}
    if len(counters) > MAX_COUNTERS:
        raise ValueError(f"at most {MAX_COUNTERS} counters per increment")
    out: dict[str, int] = {}
    for name, n in counters.items():
        if not isinstance(name, str) or not _COUNTER_NAME.fullmatch(name):
            raise ValueError(f"invalid counter name: {name!r}")
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"counter {name} must be a non-negative integer")
        if n:
            out[name] = int(n)  # int() turns a bool into a number, as daily_values does
    return out


# The longest text a conversation search or a user search takes.
MAX_SEARCH_TEXT = 200


def fold(text: str) -> str:
    """`text` for a case-insensitive comparison (Unicode case folding, the same in Python
    and, through a registered function, in SQLite's queries)."""
    return text.casefold()


def search_needle(text: str | None) -> str | None:
    """The folded text to look for, None when there is nothing to filter on; ValueError
    when it is longer than MAX_SEARCH_TEXT characters."""
    if text is None or text == "":
        return None
    if len(text) > MAX_SEARCH_TEXT:
        raise ValueError(f"search text is longer than {MAX_SEARCH_TEXT} characters")
    return fold(text)


def check_window(
    start: dt.datetime | None,
    end: dt.datetime | None,
    before: dt.datetime | None,
    before_id: str | None,
) -> None:
    """Refuse a search window both backends could not read the same way."""
    if before_id is not None and before is None:
        raise ValueError("before_id needs before (the timestamp of the same item)")
    for at in (start, end, before):
        if at is not None:
            utc(at)
