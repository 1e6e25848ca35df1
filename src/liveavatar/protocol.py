"""The browser <-> backend protocol: versioned, typed, parsed once at the socket edge.

Audio never travels in JSON: binary WebSocket frames carry raw PCM16 LE mono, 16 kHz from
the browser and 24 kHz to it. Every other frame is one of the JSON messages below, told
apart by its `type`. See docs/API.md for the conversation flow and close codes.

Version 2 adds media frames to the browser (the native avatar's fragmented MP4, as Live
sent it): binary frames of ODD length, which PCM16 frames never are. Their first byte is
the kind, `MEDIA_FMP4` (0xF0) or `MEDIA_FMP4_PADDED` (0xF1: one padding byte follows it,
so that the frame's length is odd); the rest is the media. Only pages that say `hello`
with version 2 get them; a version 1 page gets the drawn avatar.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL_VERSION = 2
MIN_PROTOCOL_VERSION = 1  # version 1 pages are served, without media frames
MEDIA_FMP4 = 0xF0
MEDIA_FMP4_PADDED = 0xF1
INPUT_SAMPLE_RATE = 16_000
OUTPUT_SAMPLE_RATE = 24_000
MAX_TEXT_CHARS = 2_000
MAX_VIDEO_FRAME_BYTES = 512 * 1024  # decoded JPEG bytes
MAX_AUDIO_FRAME_BYTES = 32_000  # one second of 16 kHz PCM16; browsers send 640-byte blocks
MAX_JSON_FRAME_BYTES = 1_000_000  # a base64 video frame plus envelope

# JSON itself has no NaN or infinity; pydantic's parser accepts them (and 1e400 overflows
# to inf), but they cannot be echoed back: serialised they become null. Refused at the edge.
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- browser -> backend ----------------------------------------------------------------


class BrowserMessage(Message):
    """What the browser sends is parsed strictly: a value of the wrong type (`"1"` or
    `true` for a number) is refused, never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Hello(BrowserMessage):
    """First frame from the browser. `session_id` resumes a session after a reconnect.

    `browser_key` is a random secret the page keeps for its browser (local storage): with
    sign-in off it binds a session to the browser that opened it, so only that browser can
    resume it. Signed-in sessions are bound to the user instead.
    """

    type: Literal["hello"]
    version: int = Field(ge=1)
    token: str | None = Field(default=None, max_length=8192)
    session_id: str | None = Field(default=None, max_length=64)
    browser_key: str | None = Field(
        default=None, min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_-]+$"
    )
    voice: str | None = Field(default=None, max_length=40)


class TextInput(BrowserMessage):
    """Typed text instead of speech; interrupts the avatar like speech does."""

    type: Literal["text"]
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class VideoFrame(BrowserMessage):
    """A camera or screen frame, about 1 per second, base64 in JSON (small next to audio)."""

    type: Literal["video_frame"]
    mime_type: Literal["image/jpeg", "image/png", "image/webp"] = "image/jpeg"
    data: str = Field(min_length=4, max_length=(MAX_VIDEO_FRAME_BYTES * 4) // 3 + 4)
    source: Literal["camera", "screen"] = "camera"


class AudioEnd(BrowserMessage):
    """The microphone was muted or stopped: flush the user's utterance now."""

    type: Literal["audio_end"]


class Ping(BrowserMessage):
    """Round-trip probe; `t` is any finite number, echoed back unchanged in `pong`."""

    type: Literal["ping"]
    t: FiniteFloat = 0.0


MAX_TURN = 10_000_000
MAX_HEARD_WORDS = 100_000
MAX_AV_OFFSET_MS = 1_000.0


class Played(BrowserMessage):
    """What the user heard of the model's answer in `turn`, sent once the page has played
    it to its end or stopped it (barge-in, Stop): the first `words` words of its
    transcript, and the page's measured audio/video (mouth) offset over it, ms, positive
    when the audio is ahead. The backend keeps no more than the generated text: `words`
    only ever selects a prefix of it."""

    type: Literal["played"]
    turn: int = Field(ge=1, le=MAX_TURN)
    words: int = Field(ge=0, le=MAX_HEARD_WORDS)
    av_offset_ms: FiniteFloat | None = Field(
        default=None, ge=-MAX_AV_OFFSET_MS, le=MAX_AV_OFFSET_MS
    )


class Bye(BrowserMessage):
    """The user ended the conversation; the server closes with 1000."""

    type: Literal["bye"]


class TokenRefresh(BrowserMessage):
    """A fresh ID token for the signed-in user, sent before the one of `hello` expires
    (docs/API.md, "Identity, quotas and limits"): it must be valid and of the same uid."""

    type: Literal["token"]
    token: str = Field(min_length=1, max_length=8192)


ClientMessage = Annotated[
    Hello | TextInput | VideoFrame | AudioEnd | Ping | Played | Bye | TokenRefresh,
    Field(discriminator="type"),
]
client_message: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


# ---- backend -> browser ----------------------------------------------------------------


class AvatarMedia(Message):
    """Clips for the video avatar mode; empty lists mean the drawn avatar is used."""

    idle: list[str] = []
    talking: list[str] = []
    expressive: list[str] = []


class Limits(Message):
    max_text_chars: int = MAX_TEXT_CHARS
    max_video_frame_bytes: int = MAX_VIDEO_FRAME_BYTES
    max_audio_frame_bytes: int = MAX_AUDIO_FRAME_BYTES
    video_fps: float = 1.0
    audio_frame_ms: int = 20


class Ready(Message):
    type: Literal["ready"] = "ready"
    version: int = PROTOCOL_VERSION
    session_id: str
    resumed: bool = False
    input_sample_rate: int = INPUT_SAMPLE_RATE
    output_sample_rate: int = OUTPUT_SAMPLE_RATE
    voice: str
    persona: str
    avatar: AvatarMedia = AvatarMedia()
    # What this session shows: "native" only when media frames will come (version 2 pages
    # on an endpoint that renders it); otherwise the persona's "drawn" or "clips".
    avatar_mode: Literal["drawn", "clips", "native"] = "drawn"
    limits: Limits = Limits()


class Transcript(Message):
    """Text of one side of a turn. Partial messages carry the whole text so far."""

    type: Literal["transcript"] = "transcript"
    role: Literal["user", "model"]
    text: str
    final: bool
    turn: int


class Interrupted(Message):
    """The model was interrupted: drop all queued playback now."""

    type: Literal["interrupted"] = "interrupted"
    turn: int


class TurnComplete(Message):
    type: Literal["turn_complete"] = "turn_complete"
    turn: int


class ToolActivity(Message):
    type: Literal["tool"] = "tool"
    call_id: str
    name: str
    status: Literal["started", "finished", "failed", "cancelled"]


class TurnMetrics(Message):
    """Per-turn timings measured at the backend, in milliseconds; token counts as Live
    reported them, in total and by modality (video: camera and screen frames); and the
    turn's estimated cost in US dollars (the price table in settings)."""

    type: Literal["metrics"] = "metrics"
    turn: int
    time_to_first_audio_ms: float | None
    turn_latency_ms: float
    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_video_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    thoughts_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    cost_usd: float = 0.0


MAX_SOURCES = 10  # per answer: what the page lists under it
MAX_SOURCE_TITLE_CHARS = 300
MAX_SOURCE_URI_CHARS = 2048


class SourceLink(Message):
    """A web page a grounded answer drew on. The page links `uri` only if it is http(s)."""

    title: str = Field(max_length=MAX_SOURCE_TITLE_CHARS)
    uri: str = Field(max_length=MAX_SOURCE_URI_CHARS)
    domain: str = Field(default="", max_length=MAX_SOURCE_TITLE_CHARS)


class Sources(Message):
    """The pages the model's answer in `turn` drew on (Google Search grounding) and the
    searches it ran; sent once per grounded turn, after its final model transcript and
    before its `turn_complete`."""

    type: Literal["sources"] = "sources"
    turn: int
    sources: list[SourceLink] = Field(max_length=MAX_SOURCES)
    queries: list[str] = []


ErrorCode = Literal[
    "bad_request",
    "unsupported_version",
    "unauthorized",
    "forbidden",
    "rate_limited",
    "quota_exceeded",
    "live_unavailable",
    "live_reconnecting",
    "live_refused",
    "session_replaced",
    "tool_failed",
    "internal",
]


class Error(Message):
    """A problem the user should hear about; `fatal` errors are followed by a close."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    fatal: bool = False


class AvatarFallbackNotice(Message):
    """The native avatar is not available for this session (the endpoint cannot render
    it, or refused the avatar, possibly mid-session): the conversation goes on, its voice
    as audio frames from here on, and the page draws the avatar and shows `message`."""

    type: Literal["avatar_fallback"] = "avatar_fallback"
    reason: Literal["unsupported_api", "image_invalid", "refused"]
    message: str


class GoingAway(Message):
    """The server ends this socket on purpose (it is draining, or the socket reached its
    age limit): reconnect (with `session_id`) after the delay, and resume."""

    type: Literal["going_away"] = "going_away"
    reason: str
    reconnect_after_ms: int = 0


class Pong(Message):
    type: Literal["pong"] = "pong"
    t: FiniteFloat


ServerMessage = (
    Ready
    | Transcript
    | Interrupted
    | TurnComplete
    | ToolActivity
    | TurnMetrics
    | Sources
    | Error
    | AvatarFallbackNotice
    | GoingAway
    | Pong
)


def media_frame(data: bytes) -> bytes:
    """One binary frame carrying fMP4 bytes, of odd length (docs/API.md, Frames)."""
    if len(data) % 2:
        return b"".join((bytes((MEDIA_FMP4_PADDED, 0)), data))
    return b"".join((bytes((MEDIA_FMP4,)), data))
