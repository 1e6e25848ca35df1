"""Client-to-server Live messages: parsed once, in either key spelling, into typed models.

The real service parses protobuf JSON, which accepts both a field's proto name
(snake_case) and its lowerCamel form at every level. Known message fields are therefore
declared with camelCase aliases and `validate_by_name`, while free-form values (function
args and responses, JSON schemas, labels) are typed `dict[str, Any]`/`Any` so their keys
are never touched.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from liveavatar.audio.pcm import decode_base64

from .errors import INVALID_ARGUMENT, LiveCloseError


class WireModel(BaseModel):
    """Base for Live messages: camelCase or snake_case keys, unknown nested keys ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        frozen=True,
    )


class Blob(WireModel):
    mime_type: str = ""
    data: str = ""

    def decoded(self) -> bytes:
        try:
            return decode_base64(self.data)
        except ValueError as exc:
            raise LiveCloseError(INVALID_ARGUMENT, "Invalid value at 'data': bad base64") from exc


class FunctionCallPart(WireModel):
    id: str | None = None
    name: str = ""
    args: dict[str, Any] | None = None


Scheduling = Literal["SCHEDULING_UNSPECIFIED", "SILENT", "WHEN_IDLE", "INTERRUPT"]
_SCHEDULES: dict[Any, Scheduling] = {s: s for s in ("SILENT", "WHEN_IDLE", "INTERRUPT")}


class FunctionResponse(WireModel):
    id: str | None = None
    name: str = ""
    response: dict[str, Any] | None = None
    scheduling: Scheduling | None = None
    will_continue: bool | None = None

    def schedule(self) -> Scheduling:
        """How a NON_BLOCKING call's answer is folded in (reference §13.2): `scheduling`
        beside `response` as the SDK sends it, else inside `response` as Google's docs and
        pipecat put it; `WHEN_IDLE` when neither says."""
        if self.scheduling not in (None, "SCHEDULING_UNSPECIFIED"):
            return self.scheduling
        return _SCHEDULES.get((self.response or {}).get("scheduling"), "WHEN_IDLE")

    def result(self) -> dict[str, Any]:
        """The answer itself, without a `scheduling` riding inside it."""
        return {k: v for k, v in (self.response or {}).items() if k != "scheduling"}


class Part(WireModel):
    text: str | None = None
    inline_data: Blob | None = None
    function_call: FunctionCallPart | None = None
    function_response: FunctionResponse | None = None
    thought: bool | None = None


class Content(WireModel):
    role: str | None = None
    parts: list[Part] = []

    def text(self) -> str:
        return " ".join(p.text for p in self.parts if p.text and not p.thought).strip()


class PrebuiltVoiceConfig(WireModel):
    voice_name: str | None = None


class VoiceConfig(WireModel):
    prebuilt_voice_config: PrebuiltVoiceConfig | None = None


class SpeechConfig(WireModel):
    voice_config: VoiceConfig | None = None
    language_code: str | None = None


class ThinkingConfig(WireModel):
    # Levels are compared without regard to case (the docs write them in lower case).
    thinking_level: str | None = None
    thinking_budget: int | None = None
    include_thoughts: bool | None = None


class GenerationConfig(WireModel):
    response_modalities: list[str] | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    max_output_tokens: int | None = None
    seed: int | None = None
    speech_config: SpeechConfig | None = None
    thinking_config: ThinkingConfig | None = None
    enable_affective_dialog: bool | None = None
    media_resolution: (
        Literal[
            "MEDIA_RESOLUTION_UNSPECIFIED",
            "MEDIA_RESOLUTION_LOW",
            "MEDIA_RESOLUTION_MEDIUM",
            "MEDIA_RESOLUTION_HIGH",
        ]
        | None
    ) = None


class FunctionDeclaration(WireModel):
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    parameters_json_schema: Any = None
    behavior: str | None = None

    def parameter_schema(self) -> dict[str, Any]:
        """The parameter schema, whichever of the two fields carried it."""
        if self.parameters:
            return self.parameters
        if isinstance(self.parameters_json_schema, dict):
            return self.parameters_json_schema
        return {}


class Tool(WireModel):
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None


class AutomaticActivityDetection(WireModel):
    disabled: bool = False
    start_of_speech_sensitivity: str | None = None
    end_of_speech_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None


class RealtimeInputConfig(WireModel):
    automatic_activity_detection: AutomaticActivityDetection | None = None
    activity_handling: str | None = None
    turn_coverage: str | None = None


class SessionResumptionConfig(WireModel):
    handle: str | None = None
    transparent: bool | None = None


class SlidingWindow(WireModel):
    # int64 in the proto: a number (Python SDK) or a numeric string (Go SDK), §13.1.
    target_tokens: int | None = Field(default=None, ge=0)


class ContextWindowCompression(WireModel):
    trigger_tokens: int | None = Field(default=None, ge=0)
    sliding_window: SlidingWindow | None = None


class Proactivity(WireModel):
    proactive_audio: bool | None = None
    proactive_video: bool | None = None


class CustomizedAvatar(WireModel):
    image_mime_type: str = ""
    image_data: str = ""

    def decoded(self) -> bytes:
        return Blob(mime_type=self.image_mime_type, data=self.image_data).decoded()


class AvatarConfig(WireModel):
    """Live avatars (reference §14.2); the SDK sends these keys in snake_case."""

    avatar_name: str | None = None
    customized_avatar: CustomizedAvatar | None = None
    audio_bitrate_bps: int | None = Field(default=None, gt=0)
    video_bitrate_bps: int | None = Field(default=None, gt=0)


class Setup(WireModel):
    model: str = ""
    generation_config: GenerationConfig | None = None
    system_instruction: Content | str | None = None
    tools: list[Tool] | None = None
    realtime_input_config: RealtimeInputConfig | None = None
    input_audio_transcription: dict[str, Any] | None = None
    output_audio_transcription: dict[str, Any] | None = None
    session_resumption: SessionResumptionConfig | None = None
    context_window_compression: ContextWindowCompression | None = None
    proactivity: Proactivity | None = None
    avatar_config: AvatarConfig | None = None

    def instruction_text(self) -> str:
        si = self.system_instruction
        if si is None:
            return ""
        return si if isinstance(si, str) else si.text()

    def functions(self) -> list[FunctionDeclaration]:
        return [fd for t in self.tools or [] for fd in t.function_declarations or []]

    def voice_name(self) -> str | None:
        gc = self.generation_config
        sc = gc.speech_config if gc else None
        vc = sc.voice_config if sc else None
        pv = vc.prebuilt_voice_config if vc else None
        return pv.voice_name if pv else None


class ActivityMarker(WireModel):
    pass


class RealtimeInput(WireModel):
    audio: Blob | None = None
    video: Blob | None = None
    text: str | None = None
    audio_stream_end: bool | None = None
    activity_start: ActivityMarker | None = None
    activity_end: ActivityMarker | None = None
    media_chunks: list[Blob] | None = None


class ClientContent(WireModel):
    turns: list[Content] = []
    turn_complete: bool = False


class ToolResponse(WireModel):
    function_responses: list[FunctionResponse] = []


class ToolsUpdate(WireModel):
    tools: list[Tool] = []


class ContextUpdate(WireModel):
    system_instruction: Content | str | None = None
    tools: ToolsUpdate | list[Tool] | None = None


ClientKind = Literal["setup", "realtime_input", "client_content", "tool_response", "context_update"]
_MODELS: dict[ClientKind, type[WireModel]] = {
    "setup": Setup,
    "realtime_input": RealtimeInput,
    "client_content": ClientContent,
    "tool_response": ToolResponse,
    "context_update": ContextUpdate,
}
_KEYS: dict[str, ClientKind] = {}
for _kind in _MODELS:
    _KEYS[_kind] = _kind
    _KEYS[to_camel(_kind)] = _kind


def parse_client_message(raw: str | bytes) -> tuple[ClientKind, WireModel]:
    """Parse one client frame into its kind and typed body.

    Raises:
        LiveCloseError: 1007 with the real service's wording for anything malformed.
    """
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LiveCloseError(INVALID_ARGUMENT, "Invalid JSON payload received.") from exc
    if not isinstance(doc, dict) or len(doc) != 1:
        raise LiveCloseError(
            INVALID_ARGUMENT, "Invalid JSON payload received. Expected exactly one message."
        )
    ((key, body),) = doc.items()
    kind = _KEYS.get(key)
    if kind is None:
        reason = f'Invalid JSON payload received. Unknown name "{key[:40]}": Cannot find field.'
        raise LiveCloseError(INVALID_ARGUMENT, reason)
    if not isinstance(body, dict):
        raise LiveCloseError(INVALID_ARGUMENT, f"Invalid value at '{key[:40]}'.")
    try:
        return kind, _MODELS[kind].model_validate(body)
    except ValidationError as exc:
        loc = ".".join(str(p) for p in exc.errors()[0]["loc"])[:60]
        raise LiveCloseError(INVALID_ARGUMENT, f"Invalid value at '{key}.{loc}'.") from exc
