"""The store's conversation records: what the backend writes as each turn ends and the
dashboard reads back (transcript lines, turns with their token usage and tool calls,
per-conversation totals), and the user and resumption records.

Every timestamp is timezone-aware (naive datetimes are refused). Averages are never stored:
the stores keep sums and counts, so every metrics update is an atomic increment, and the
averages here are derived from them on read. The day's totals are in `day_totals.py`, the
persona in `persona_config.py`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    computed_field,
)

from liveavatar.store._frozen import Frozen, average

MAX_AV_OFFSET_MS = 1_000.0  # the most the page may report (protocol.Played)


def usable_av_offset(value: object) -> float | None:
    """A stored audio/video offset as it may be shown and summed: a finite number of ms
    within +-MAX_AV_OFFSET_MS, else None ("not measured"). The backend stores nothing
    else; a value written by anything else (a string, NaN, which Firestore keeps, or
    1e300) must not break the dashboard nor skew the period's percentiles."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and abs(number) <= MAX_AV_OFFSET_MS else None


# Read and written through `usable_av_offset`: what is kept is always usable.
AvOffsetMs = Annotated[float | None, BeforeValidator(usable_av_offset)]


class TokenSums(BaseModel):
    """Token counts by modality (reference §13.5) and the estimated cost in US dollars
    (from the price table in settings): a turn's own, or summed over a conversation or a
    day, beside the prompt and response totals."""

    model_config = ConfigDict(frozen=True)

    input_text_tokens: int = Field(default=0, ge=0)
    input_audio_tokens: int = Field(default=0, ge=0)
    input_video_tokens: int = Field(default=0, ge=0)
    output_text_tokens: int = Field(default=0, ge=0)
    output_audio_tokens: int = Field(default=0, ge=0)
    thoughts_tokens: int = Field(default=0, ge=0)
    tool_use_prompt_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)


# The sums every stored turn adds to its conversation and its day, in this order.
TOKEN_SUMS: tuple[str, ...] = tuple(TokenSums.model_fields)


class Source(Frozen):
    """A web page a grounded answer drew on (Google Search grounding)."""

    title: str
    uri: str
    domain: str = ""


class Message(Frozen):
    """One line of a transcript. `turn_index` keeps lines of distinct turns distinct.

    The model's line of a search-grounded answer carries the pages it drew on.
    """

    role: Literal["user", "model"]
    text: str
    at: AwareDatetime
    turn_index: int = Field(default=0, ge=0)
    interrupted: bool = False
    sources: list[Source] = []
    # The model's line: what the user heard of it (a prefix of `text`; shorter when a
    # barge-in or Stop cut the voice), None when the page did not say.
    heard_text: str | None = None
    # The page's measured audio/video (mouth) offset over this answer, ms, + = audio ahead.
    av_offset_ms: AvOffsetMs = None


# What one tool call's arguments and result may take in a stored turn; longer values are
# cut by the caller (`ToolCallRecord.bounded`), so a chatty tool cannot bloat a transcript.
MAX_TOOL_TEXT = 2000


class ToolCallRecord(Frozen):
    """One tool call the model made during a turn, as the dashboard shows it."""

    name: str
    args: str = ""  # the arguments as JSON text, at most MAX_TOOL_TEXT characters
    result: str = ""  # the answer (or the error) as text, at most MAX_TOOL_TEXT characters
    ok: bool = True
    duration_ms: float = Field(default=0.0, ge=0)

    @classmethod
    def bounded(
        cls, name: str, args: str, result: str, *, ok: bool, duration_ms: float
    ) -> ToolCallRecord:
        """A record with `args` and `result` cut to MAX_TOOL_TEXT characters."""
        return cls(
            name=name,
            args=args[:MAX_TOOL_TEXT],
            result=result[:MAX_TOOL_TEXT],
            ok=ok,
            duration_ms=max(0.0, duration_ms),
        )


class TurnRecord(Frozen, TokenSums):
    """One finished turn, as the bridge reports it when the turn ends: its token usage by
    modality and estimated cost (`TokenSums`), its tool calls, and for a grounded answer
    its sources and the searches the model ran."""

    index: int = Field(ge=0)
    user_text: str = ""
    model_text: str = ""
    interrupted: bool = False
    started_at: AwareDatetime
    ended_at: AwareDatetime
    time_to_first_audio_ms: float | None = Field(default=None, ge=0)
    turn_latency_ms: float = Field(ge=0)
    prompt_tokens: int = Field(default=0, ge=0)
    response_tokens: int = Field(default=0, ge=0)
    sources: list[Source] = []
    search_queries: list[str] = []
    tool_calls: list[ToolCallRecord] = []
    heard_text: str | None = None  # see Message; may be added after the turn is stored
    av_offset_ms: AvOffsetMs = None

    def tokens(self) -> TokenSums:
        """This turn's per-modality counts and cost."""
        return TokenSums(**{k: getattr(self, k) for k in TokenSums.model_fields})

    def messages(self) -> list[Message]:
        """The transcript lines of this turn; an empty side (e.g. a silent turn) adds none."""
        out: list[Message] = []
        if self.user_text:
            out.append(
                Message(role="user", text=self.user_text, at=self.started_at, turn_index=self.index)
            )
        if self.model_text:
            out.append(
                Message(
                    role="model",
                    text=self.model_text,
                    at=self.ended_at,
                    turn_index=self.index,
                    interrupted=self.interrupted,
                    sources=self.sources,
                    heard_text=self.heard_text,
                    av_offset_ms=self.av_offset_ms,
                )
            )
        return out


class ConversationMetrics(Frozen, TokenSums):
    """Per-conversation totals (over all its sessions); the averages are derived from the
    stored sums."""

    turns: int = 0
    interrupted_turns: int = 0
    latency_ms_sum: float = 0.0
    latency_count: int = 0
    ttfa_ms_sum: float = 0.0
    ttfa_count: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0
    errors: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_latency_ms(self) -> float:
        return average(self.latency_ms_sum, self.latency_count)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_time_to_first_audio_ms(self) -> float | None:
        # None, not 0: no turn of this conversation produced audio.
        return self.ttfa_ms_sum / self.ttfa_count if self.ttfa_count else None


class ConversationSummary(Frozen):
    """A conversation without its transcript (what listings return)."""

    id: str
    user_id: str
    timestamp: AwareDatetime  # start
    # A conversation resumed over several sessions ended when the last of them ended, and
    # lasted their summed talk time; until one ends, as far as its turns reach.
    ended_at: AwareDatetime | None = None
    duration_s: float = 0.0
    metrics: ConversationMetrics = ConversationMetrics()
    persona_version: int | None = None


class Conversation(ConversationSummary):
    """A conversation with its transcript, oldest line first."""

    messages: list[Message] = []

    def summary(self) -> ConversationSummary:
        return ConversationSummary(
            **{k: getattr(self, k) for k in ConversationSummary.model_fields}
        )


class User(Frozen):
    """A signed-in person. `quota_minutes_per_day` overrides the global quota when set;
    a `blocked` user is refused at `hello` (`forbidden`, 4403) and their running sessions
    end."""

    id: str
    email: str
    settings: dict[str, Any] = {}
    quota_minutes_per_day: float | None = Field(default=None, ge=0)
    blocked: bool = False
    created_at: AwareDatetime


class ResumeState(Frozen):
    """What any instance needs to resume a session (`Store.claim_resumption`).

    `owner_digest` is a digest of the owner key, never the key (an anonymous user's holds
    their browser's secret); `holder` names the connection serving the session now, so an
    older one elsewhere learns it was taken over; `handle` is the latest Live resumption
    handle (None before the first). The entry is gone once `expires_at` has passed.
    """

    session_id: str
    owner_digest: str
    holder: str
    handle: str | None = None
    expires_at: AwareDatetime


__all__ = [
    "MAX_TOOL_TEXT",
    "TOKEN_SUMS",
    "Conversation",
    "ConversationMetrics",
    "ConversationSummary",
    "Message",
    "ResumeState",
    "Source",
    "TokenSums",
    "ToolCallRecord",
    "TurnRecord",
    "User",
]
