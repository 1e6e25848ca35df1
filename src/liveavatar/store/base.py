"""The `Store` protocol every persistence backend implements, and its errors.

Two backends implement it: `SQLiteStore` (the embedded default) and `FirestoreStore`
(production). The same behavioural test suite runs against both, so code above this layer
never needs to know which one it has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final, Protocol

from liveavatar.store.av_offset import AvOffset
from liveavatar.store.day_totals import DailyLatency, DailyMetrics, UserDay
from liveavatar.store.models import Conversation, ConversationSummary, ResumeState, TurnRecord, User
from liveavatar.store.persona_config import PersonaConfig


class StoreError(Exception):
    """Base of every error a store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database did not answer in time, refused the connection, or the store is closed."""


class VersionConflict(StoreError):
    """An optimistic write was based on a version that is no longer current."""


class NotFound(StoreError):
    """The document or row the call needs does not exist."""


class _Unset:
    """Marker for "leave this field as it is" where None is a meaningful value."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class Store(Protocol):
    """Conversations, daily metrics, users and their usage, and the persona configuration.

    Every method is a coroutine that never blocks the event loop and is bounded in time:
    a backend that does not answer raises `StoreUnavailable`. Datetimes must be
    timezone-aware; days (`date` arguments) are UTC calendar days, as `date` or
    `"YYYY-MM-DD"`.
    """

    async def start_conversation(
        self, id: str, user_id: str, at: dt.datetime, persona_version: int | None
    ) -> None:
        """Record that a conversation began. Idempotent: a second call changes nothing."""
        ...

    async def append_turn(self, conversation_id: str, turn: TurnRecord) -> bool:
        """Persist one finished turn in a single atomic write.

        Appends the turn's messages (the model's line with the turn's grounding sources),
        increments the conversation's metrics, extends its duration, and adds the turn to
        the daily totals of the UTC day of `turn.ended_at` (turns +1, its latency to the
        latency sum and count, its prompt and response tokens, its tokens by modality and
        its estimated cost), so the day counts a turn exactly when it is stored: the caller never
        calls `increment_daily` for it. Idempotent per `turn.index`: a retried append of an
        index already stored changes nothing (nor the day's totals) and returns False; a
        first append returns True. Raises `NotFound` for an unknown conversation.
        """
        ...

    async def record_playback(
        self, conversation_id: str, index: int, heard_text: str, av_offset_ms: float | None
    ) -> bool:
        """What the user heard of stored turn `index`'s answer (a prefix of its model text,
        cut by the caller) and the page's audio/video offset over it; they come from the
        page after the turn was stored. Returns False when no such turn is stored."""
        ...

    async def end_conversation(
        self,
        conversation_id: str,
        at: dt.datetime,
        duration_s: float,
        *,
        errors: int = 0,
        part: str = "",
    ) -> bool:
        """Record the end of one session of a conversation, in a single atomic write.

        A conversation can span several sessions (a page that reconnects resumes it);
        `part` names the session that ended (the recorder passes its start instant in
        microseconds; the default "" is for a caller that ends a conversation once). The
        conversation's end becomes the later of its recorded end and `at`; `duration_s`,
        that session's talk time, and `errors` are added to the conversation's (so once its
        sessions have ended, its duration is the sum of theirs; before the first end it is
        how far its turns reach); and one ended session, `duration_s` and `errors` are added
        to the daily totals of the UTC day of `at` (the caller never calls
        `increment_daily` for them). Idempotent per (conversation, `part`): a repeated or
        concurrent end of a part already recorded changes nothing (nor the day's totals) and
        returns False; a first end returns True. Raises `NotFound` for an unknown
        conversation, ValueError for a `part` that is not a valid id (e.g. holds "/").
        """
        ...

    async def get_conversation(self, id: str) -> Conversation | None:
        """One conversation with its transcript, or None."""
        ...

    async def list_conversations(
        self,
        *,
        user_id: str | None = None,
        before: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[ConversationSummary]:
        """Conversations newest first, ordered by (start timestamp, id) descending.

        The next page is `before=last.timestamp, before_id=last.id`; with `before` alone the
        page starts strictly before that instant. Optionally only one user's conversations.
        """
        ...

    async def search_conversations(
        self,
        *,
        user_id: str | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        text: str | None = None,
        before: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[ConversationSummary]:
        """Conversations newest first (as `list_conversations`), filtered: one user's;
        started at or after `start` and strictly before `end`; with `text`, only those with
        a transcript line containing it (case-insensitive, at most 200 characters).

        Paged like `list_conversations`. A filter left None does not filter.
        """
        ...

    async def get_turns(self, conversation_id: str) -> list[TurnRecord]:
        """A conversation's stored turns, by index: texts, timings, tokens by modality,
        cost, tool calls and sources. Empty for an unknown conversation."""
        ...

    async def delete_conversation(self, id: str) -> bool:
        """Delete one conversation with its turns, messages and session ends (its
        recordings are the media store's: the caller deletes them). False if unknown.
        The daily totals, aggregates without personal content, are kept."""
        ...

    async def delete_user_data(self, user_id: str) -> list[str]:
        """A privacy request: delete every conversation of the user (as
        `delete_conversation`), their usage and cost days and the user record. Returns the
        ids of the deleted conversations, so the caller can delete their recordings."""
        ...

    async def increment_daily(
        self,
        date: dt.date | str,
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
        counters: Mapping[str, int] | None = None,
    ) -> None:
        """Atomically add to one day's totals (never a read-modify-write).

        For what no other call counts, such as a session's start, or its Live reconnects,
        rotations and errors by kind (`counters`, names as `COUNTER_NAME_PATTERN`, else
        ValueError): `append_turn` and `end_conversation` already add their turn's and
        session end's totals themselves.
        """
        ...

    async def get_daily(self, date: dt.date | str) -> DailyMetrics:
        """One day's totals; all zero for a day with nothing recorded."""
        ...

    async def list_daily(
        self, start_date: dt.date | str, end_date: dt.date | str
    ) -> list[DailyMetrics]:
        """Every day from `start_date` to `end_date` inclusive, oldest first, zero-filled."""
        ...

    async def daily_latency(
        self, start_date: dt.date | str, end_date: dt.date | str
    ) -> list[DailyLatency]:
        """Every day from `start_date` to `end_date` inclusive, oldest first: the p50 and
        p95 of its stored turns' time to first audio and turn latency (by the UTC day of
        the turn's end; nearest-rank percentiles, exact)."""
        ...

    async def av_offset(self, start_date: dt.date | str, end_date: dt.date | str) -> AvOffset:
        """The p50 and p95 of the page-reported audio/video offsets (`record_playback`) of
        the stored turns ending from `start_date` to `end_date` inclusive (UTC days;
        nearest-rank percentiles, exact; turns without an offset are left out)."""
        ...

    async def ensure_user(self, id: str, email: str) -> User:
        """The user, created on first sign-in. Idempotent; an existing user is not changed."""
        ...

    async def get_user(self, id: str) -> User | None:
        """One user, or None."""
        ...

    async def list_users(self, limit: int = 50, after_id: str | None = None) -> list[User]:
        """Users ordered by id; the next page is `after_id=last.id`."""
        ...

    async def find_users(self, text: str = "", *, limit: int = 50) -> list[User]:
        """Users whose id or email contains `text` (case-insensitive), ordered by id, at
        most `limit`; "" lists the first `limit`."""
        ...

    async def update_user(
        self,
        id: str,
        *,
        quota_minutes_per_day: float | None | _Unset = UNSET,
        settings: dict[str, Any] | _Unset = UNSET,
        blocked: bool | _Unset = UNSET,
    ) -> User:
        """Change the given fields (`None` quota removes the override; `settings` is
        replaced whole). Raises `NotFound` for an unknown user."""
        ...

    async def reset_usage(self, user_id: str, date: dt.date | str) -> None:
        """Set a user's talk time and estimated cost on one day back to 0 (an admin's
        "reset today's usage"). Not an error for a user or day with nothing recorded."""
        ...

    async def list_user_days(
        self,
        start_date: dt.date | str,
        end_date: dt.date | str,
        *,
        user_id: str | None = None,
    ) -> list[UserDay]:
        """Each (user, day) with talk time or cost recorded in the inclusive range,
        ordered by date then user id; optionally one user's."""
        ...

    async def add_usage(self, user_id: str, date: dt.date | str, seconds: float) -> float:
        """Atomically add talk time to a user's day; returns the day's total seconds."""
        ...

    async def get_usage(self, user_id: str, date: dt.date | str) -> float:
        """A user's talk time on one day, in seconds (0 if none)."""
        ...

    async def add_cost(self, user_id: str, date: dt.date | str, cost_usd: float) -> float:
        """Atomically add the estimated cost (US dollars) of a user's turns to their day;
        returns the day's total. What the cost quota (`QUOTA_COST_PER_DAY`) meters."""
        ...

    async def get_cost(self, user_id: str, date: dt.date | str) -> float:
        """A user's estimated cost on one day, in US dollars (0 if none)."""
        ...

    async def get_persona(self) -> PersonaConfig | None:
        """The active persona, or None before the first save."""
        ...

    async def put_persona(
        self, config: PersonaConfig, *, expected_version: int | None
    ) -> PersonaConfig:
        """Save a new persona version, `current + 1`, stamped with the save time.

        `expected_version` is the version the edit started from (0: none saved yet); if
        another save got there first, raises `VersionConflict`. None saves unconditionally.
        A persona asking its model for something the model does not accept is refused
        before anything is written: `UnsupportedSetting` (a ValueError naming the setting,
        `PersonaConfig.check_model`).
        """
        ...

    async def list_persona_versions(self, limit: int = 50) -> list[PersonaConfig]:
        """Saved persona versions, newest first, at most `limit` (the history)."""
        ...

    async def get_persona_version(self, version: int) -> PersonaConfig | None:
        """One saved persona version, or None. A rollback saves it again as a new version."""
        ...

    async def delete_conversations_before(self, at: dt.datetime) -> int:
        """Delete conversations that started before `at`, with their turns and messages;
        returns how many."""
        ...

    async def claim_resumption(self, state: ResumeState) -> None:
        """Write a session's whole resumption entry (owner, holder, handle, expiry),
        replacing any: a session starts, or a connection takes it over. One small write."""
        ...

    async def get_resumption(self, session_id: str, now: dt.datetime) -> ResumeState | None:
        """A session's resumption entry, or None if there is none or it expired by `now`."""
        ...

    async def put_resumption_handle(
        self, session_id: str, holder: str, handle: str, expires_at: dt.datetime
    ) -> bool:
        """Store the session's newest Live handle and push its expiry to `expires_at`, if
        `holder` still holds the entry; False (nothing written) if the entry is gone or
        another connection claimed it since. One small write."""
        ...

    async def purge_resumptions(self, now: dt.datetime) -> int:
        """Delete the resumption entries that expired by `now`; returns how many."""
        ...

    async def ping(self) -> None:
        """Check the database answers; raises `StoreUnavailable` if not."""
        ...

    async def close(self) -> None:
        """Release connections and threads. Later calls raise `StoreUnavailable`."""
        ...
