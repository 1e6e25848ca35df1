"""The store's boundary types: what the backend writes and the dashboard reads.

Every timestamp is timezone-aware (naive datetimes are refused). Averages are never stored:
the stores keep sums and counts, so every metrics update is an atomic increment, and the
averages here are derived from them on read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from liveavatar.live.avatar import PREBUILT_AVATARS
from liveavatar.live.models import MediaResolution, ThinkingLevel, check_choices
from liveavatar.live.persona import MIN_TRIGGER_TOKENS
from liveavatar.live.persona import Persona as _LivePersona
from liveavatar.live.persona import VadSettings as _LiveVad
from liveavatar.turn.settings import MIN_SHORT_SILENCE_MS, TurnDetection, TurnSettings

_LIVE_TURN = TurnSettings()

_LIVE_VAD = _LiveVad()
_LIVE = _LivePersona()


class _Frozen(BaseModel):
    # Unknown keys are ignored, not refused, so dumps (which include the derived averages)
    # load back and documents written by a newer version still read.
    model_config = ConfigDict(frozen=True)


def _avg(total: float, count: int) -> float:
    return total / count if count else 0.0


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


class Source(_Frozen):
    """A web page a grounded answer drew on (Google Search grounding)."""

    title: str
    uri: str
    domain: str = ""


class Message(_Frozen):
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
    av_offset_ms: float | None = None


# What one tool call's arguments and result may take in a stored turn; longer values are
# cut by the caller (`ToolCallRecord.bounded`), so a chatty tool cannot bloat a transcript.
MAX_TOOL_TEXT = 2000


class ToolCallRecord(_Frozen):
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


class TurnRecord(_Frozen, TokenSums):
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
    av_offset_ms: float | None = None

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


class ConversationMetrics(_Frozen, TokenSums):
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
        return _avg(self.latency_ms_sum, self.latency_count)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_time_to_first_audio_ms(self) -> float | None:
        # None, not 0: no turn of this conversation produced audio.
        return self.ttfa_ms_sum / self.ttfa_count if self.ttfa_count else None


class ConversationSummary(_Frozen):
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


# Names of the day's event counters (`DailyMetrics.counters`). Errors are counted by kind
# as "error.<code>", the code being the browser protocol's error code (e.g.
# "error.live_unavailable"); a kind is any name of letters, digits, ".", "_" and "-".
COUNTER_LIVE_RECONNECT = "live.reconnect"  # a Live connection lost and opened again
COUNTER_LIVE_ROTATION = "live.rotation"  # a planned switch at goAway / the lifetime limit
ERROR_COUNTER_PREFIX = "error."
COUNTER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class DailyMetrics(_Frozen, TokenSums):
    """One UTC day's totals. Averages divide the stored sums by their own counts.

    `counters` holds the day's event counts by name (see `COUNTER_*` above): Live
    reconnects and rotations, and errors by kind.
    """

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    total_sessions: int = 0
    total_turns: int = 0
    latency_ms_sum: float = 0.0
    latency_count: int = 0
    duration_s_sum: float = 0.0
    ended_sessions: int = 0
    error_count: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0
    counters: dict[str, int] = {}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_latency_ms(self) -> float:
        return _avg(self.latency_ms_sum, self.latency_count)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def avg_duration_s(self) -> float:
        return _avg(self.duration_s_sum, self.ended_sessions)


class DailyLatency(_Frozen):
    """One UTC day's latency percentiles over its stored turns (exact, not estimated).

    Time to first audio counts only turns that produced audio; `None` where the day has no
    such turn (or no turn at all).
    """

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    turns: int = 0
    ttfa_p50_ms: float | None = None
    ttfa_p95_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class UserDay(_Frozen):
    """One user's talk time and estimated cost on one UTC day."""

    user_id: str
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    seconds: float = 0.0
    cost_usd: float = 0.0


class User(_Frozen):
    """A signed-in person. `quota_minutes_per_day` overrides the global quota when set;
    a `blocked` user is refused at `hello` (`forbidden`, 4403) and their running sessions
    end."""

    id: str
    email: str
    settings: dict[str, Any] = {}
    quota_minutes_per_day: float | None = Field(default=None, ge=0)
    blocked: bool = False
    created_at: AwareDatetime


class VadSettings(_Frozen):
    """Live API `automaticActivityDetection` knobs (same spelling as the emulator's).

    The defaults are the Live setup's own (`live.persona.VadSettings`): a saved persona
    that leaves them alone behaves exactly like the built-in one.
    """

    disabled: bool = _LIVE_VAD.disabled
    start_sensitivity: Literal["HIGH", "LOW"] = _LIVE_VAD.start_sensitivity
    end_sensitivity: Literal["HIGH", "LOW"] = _LIVE_VAD.end_sensitivity
    prefix_padding_ms: int = Field(default=_LIVE_VAD.prefix_padding_ms, ge=0)
    silence_duration_ms: int = Field(default=_LIVE_VAD.silence_duration_ms, ge=0)


class SmartTurnSettings(_Frozen):
    """Our own end-of-turn detection (`turn_detection: smart`, `turn.settings`)."""

    short_silence_ms: int = Field(default=_LIVE_TURN.short_silence_ms, ge=MIN_SHORT_SILENCE_MS)
    max_silence_ms: int = Field(default=_LIVE_TURN.max_silence_ms, ge=MIN_SHORT_SILENCE_MS)
    threshold: float = Field(default=_LIVE_TURN.threshold, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _silences_in_order(self) -> SmartTurnSettings:
        if self.max_silence_ms < self.short_silence_ms:
            raise ValueError("max_silence_ms must be at least short_silence_ms")
        return self


AvatarMode = Literal["drawn", "clips", "native"]


class AvatarMedia(_Frozen):
    """Object names in the media store, per avatar state."""

    idle: list[str] = []
    talking: list[str] = []
    expressive: list[str] = []


class PersonaConfig(_Frozen):
    """The active persona. `version` is set by the store: each save adds exactly 1."""

    version: int = Field(default=0, ge=0)
    name: str
    model: str
    voice: str
    system_instruction: str = ""
    tools: list[str] = []
    vad: VadSettings = VadSettings()
    # Who decides the user has finished: Live ("server", with `vad`) or our model ("smart").
    turn_detection: TurnDetection = _LIVE.turn_detection
    smart_turn: SmartTurnSettings = SmartTurnSettings()
    google_search: bool = False
    # Per model (which model takes which: `live.models`); the defaults are the Live setup's.
    thinking_level: ThinkingLevel | None = _LIVE.thinking_level
    media_resolution: MediaResolution | None = _LIVE.media_resolution
    affective_dialog: bool | None = _LIVE.affective_dialog
    proactive_audio: bool | None = _LIVE.proactive_audio
    context_compression: bool = _LIVE.context_compression
    compression_trigger_tokens: int = Field(
        default=_LIVE.compression_trigger_tokens, ge=MIN_TRIGGER_TOKENS
    )
    avatar_media: AvatarMedia = AvatarMedia()
    # "drawn": the built-in animated face; "clips": the clips in `avatar_media` (stored
    # as "video" before the native avatar came; read as "clips"); "native": Gemini's own
    # live avatar (§14), `native_avatar` by name or `native_avatar_image` from the media
    # store, drawn where the endpoint cannot render it.
    avatar_mode: AvatarMode = "drawn"
    native_avatar: str | None = None
    native_avatar_image: str | None = Field(default=None, max_length=200)
    # What the avatar says first in a new (not resumed) conversation; "" : it waits.
    greeting: str = Field(default="", max_length=500)
    # The page's starting talk mode: hold-to-talk instead of hands-free.
    push_to_talk: bool = False
    # Both sides of each conversation recorded (Opus, docs/RECORDINGS.md); the page says so
    # before the microphone opens. Recordings are deleted with their conversation, and
    # after `recording_retention_days` when set (None: they live as long as it does).
    recording: bool = False
    recording_retention_days: int | None = Field(default=None, ge=1)
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None

    @field_validator("avatar_mode", mode="before")
    @classmethod
    def _clips_were_video(cls, value: object) -> object:
        return "clips" if value == "video" else value

    @field_validator("native_avatar")
    @classmethod
    def _prebuilt(cls, value: str | None) -> str | None:
        if value is not None and value not in PREBUILT_AVATARS:
            raise ValueError(f"unknown prebuilt avatar {value!r}")
        return value

    @model_validator(mode="after")
    def _native_has_an_avatar(self) -> PersonaConfig:
        if self.avatar_mode == "native" and not (self.native_avatar or self.native_avatar_image):
            raise ValueError("the native avatar needs a prebuilt avatar or a reference image")
        return self

    def check_model(self) -> None:
        """Refuse what the persona's model does not accept (`live.models.check_choices`).

        Every save checks it (the stores' `put_persona`), and so does loading the active
        persona; reading a stored document does not, so one saved under older rules can
        still be read, and replaced.

        Raises:
            UnsupportedSetting: a ValueError naming the setting, for example "model
                gemini-3.8-live does not accept thinking_level".
        """
        check_choices(
            self.model,
            thinking_level=self.thinking_level,
            media_resolution=self.media_resolution,
            affective_dialog=self.affective_dialog,
            proactive_audio=self.proactive_audio,
            context_compression=self.context_compression,
            tools=self.tools,
            google_search=self.google_search,
        )


class ResumeState(_Frozen):
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
    "COUNTER_LIVE_RECONNECT",
    "COUNTER_LIVE_ROTATION",
    "COUNTER_NAME_PATTERN",
    "ERROR_COUNTER_PREFIX",
    "MAX_TOOL_TEXT",
    "AvatarMedia",
    "Conversation",
    "ConversationMetrics",
    "ConversationSummary",
    "DailyLatency",
    "DailyMetrics",
    "Message",
    "PersonaConfig",
    "ResumeState",
    "TOKEN_SUMS",
    "Source",
    "TokenSums",
    "ToolCallRecord",
    "TurnRecord",
    "User",
    "UserDay",
    "VadSettings",
]
