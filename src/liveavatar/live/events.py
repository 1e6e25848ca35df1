"""What a Live connection reports, as small dataclasses the bridge matches on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class AudioOut:
    """Model speech: raw PCM16 LE mono at 24 kHz."""

    pcm: bytes


@dataclass(frozen=True, slots=True)
class VideoOut:
    """A piece of the native avatar's fragmented MP4 stream (H.264 video, the voice muxed
    in as AAC), as Live sent it: the first holds the init segment (§14.3)."""

    data: bytes


@dataclass(frozen=True, slots=True)
class InputText:
    """A fragment of the user's transcript, to append."""

    text: str


@dataclass(frozen=True, slots=True)
class OutputText:
    """A fragment of the model's transcript (or its text reply), to append."""

    text: str


@dataclass(frozen=True, slots=True)
class Interrupted:
    pass


@dataclass(frozen=True, slots=True)
class GenerationComplete:
    pass


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts from one `usageMetadata`, wherever in the stream it arrived.

    The service may send it beside `turnComplete`, in a message of its own, before or
    after `turnComplete` (reference §3 step 10, §13.5). When it rides on the message that
    completes the turn, the translators yield it just before `TurnComplete`, so the turn
    it belongs to is still open; the bridge attributes one arriving later (see
    `bridge/live_events.py`). `response_tokens` is Vertex's `candidatesTokenCount`.
    """

    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0
    # By modality, from the details lists (§13.5): `promptTokensDetails` for input,
    # `responseTokensDetails` (Vertex: `candidatesTokensDetails`) for output. A modality
    # absent from its list counts 0; video is IMAGE plus VIDEO (camera and screen frames).
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    input_video_tokens: int = 0
    output_text_tokens: int = 0
    output_audio_tokens: int = 0
    thoughts_tokens: int = 0
    tool_use_prompt_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Source:
    """One web page a grounded answer drew on (`groundingChunks[].web`)."""

    title: str
    uri: str
    domain: str = ""


@dataclass(frozen=True, slots=True)
class Grounding:
    """Google Search grounding of the model's answer in progress (§13.3): the pages it
    drew on and the searches it ran. It may come alone or with the answer's audio and
    text, possibly more than once a turn; the bridge gathers a turn's until it ends."""

    sources: tuple[Source, ...] = ()
    queries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TurnComplete:
    """The model's turn is over (its usage, if any, came as a `Usage` event before).

    `interaction_status` is the service's `interactionStatus` when it sent one (upper
    case; UNSPECIFIED counts as none). The extended-thinking model sends `IN_PROGRESS`
    while background reasoning or NON_BLOCKING calls are still pending: more output of the
    same answer follows, so the conversation's turn is not over (`final`) until `IDLE`
    (reference §13.2). `REQUIRES_ACTION`, a deprecated alias of `IDLE` [SDK], ends it too.
    """

    interaction_status: str | None = None

    @property
    def final(self) -> bool:
        """Whether the model is done with the user's request (not `IN_PROGRESS`)."""
        return self.interaction_status != "IN_PROGRESS"


def interaction_status(value: str | None) -> str | None:
    """`interactionStatus` as `TurnComplete` carries it: upper case, None when absent or
    `INTERACTION_STATUS_UNSPECIFIED` (which the SDK too treats as absent)."""
    status = (value or "").upper()
    return None if not status or status == "INTERACTION_STATUS_UNSPECIFIED" else status


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """One call. `non_blocking`: this connection declared the function NON_BLOCKING, so
    the model talks on while it runs and its answer carries a `scheduling` (§13.2)."""

    id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)
    non_blocking: bool = False


@dataclass(frozen=True, slots=True)
class ToolCall:
    calls: tuple[FunctionCall, ...]


@dataclass(frozen=True, slots=True)
class ToolCancel:
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GoAway:
    time_left_s: float


@dataclass(frozen=True, slots=True)
class Handle:
    """A resumption handle valid from this point of the conversation."""

    value: str


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection ended; `code` is the WebSocket close code (1006 if none).

    `stalled`: the far end stopped answering (an unanswered keepalive ping, or nothing
    received in time after something that must be answered) and we dropped the connection.
    """

    code: int
    reason: str
    stalled: bool = False


LiveEvent = (
    AudioOut
    | VideoOut
    | InputText
    | OutputText
    | Interrupted
    | GenerationComplete
    | Grounding
    | Usage
    | TurnComplete
    | ToolCall
    | ToolCancel
    | GoAway
    | Handle
    | Closed
)


@dataclass(frozen=True, slots=True)
class Reconnecting:
    """The connection dropped unexpectedly; the link is reconnecting with resumption."""

    attempt: int
    code: int


@dataclass(frozen=True, slots=True)
class Reconnected:
    resumed: bool


@dataclass(frozen=True, slots=True)
class Rotated:
    """A goAway was handled by switching to a fresh connection at a turn boundary."""

    replayed_ms: float


@dataclass(frozen=True, slots=True)
class AvatarFallback:
    """Live would not render the native avatar (`avatar.FallbackReason`): the conversation
    goes on in audio, with the drawn avatar, from here on."""

    reason: str


LinkEvent = LiveEvent | Reconnecting | Reconnected | Rotated | AvatarFallback
