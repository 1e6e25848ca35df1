"""The avatar's persona and how it becomes a Live setup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from google.genai import types

from liveavatar.turn.settings import TurnDetection, TurnSettings

from .avatar import NativeAvatar
from .models import LiveModel, MediaResolution, ThinkingLevel, check_choices, live_model
from .tools import FunctionSpec

Sensitivity = Literal["HIGH", "LOW"]
# Below this a sliding window would leave no room for a conversation.
MIN_TRIGGER_TOKENS = 1_000

# The prebuilt voices of the native-audio Live models.
PREBUILT_VOICES: frozenset[str] = frozenset(
    """Achernar Achird Algenib Algieba Alnilam Aoede Autonoe Callirrhoe Charon Despina
    Enceladus Erinome Fenrir Gacrux Iapetus Kore Laomedeia Leda Orus Pulcherrima Puck
    Rasalgethi Sadachbia Sadaltager Schedar Sulafat Umbriel Vindemiatrix Zephyr
    Zubenelgenubi""".split()
)


@dataclass(frozen=True)
class VadSettings:
    """Server-side voice activity detection; `disabled` means the client marks turns."""

    disabled: bool = False
    start_sensitivity: Sensitivity = "HIGH"
    end_sensitivity: Sensitivity = "HIGH"
    prefix_padding_ms: int = 20
    silence_duration_ms: int = 300


@dataclass(frozen=True)
class Persona:
    """Who the avatar is: what the admin edits in the dashboard's config document."""

    name: str = "Ava"
    model: str = "gemini-3.8-live"
    voice: str = "Puck"
    system_instruction: str = (
        "You are Ava, a friendly and concise talking avatar. Answer in one or two sentences."
    )
    tools: tuple[str, ...] = ("get_current_time", "lookup_knowledge")
    vad: VadSettings = field(default_factory=VadSettings)
    # Who decides that the user has finished: Live's own detector ("server", with `vad`)
    # or ours ("smart", with `smart_turn`; Live in manual activity mode).
    turn_detection: TurnDetection = "server"
    smart_turn: TurnSettings = field(default_factory=TurnSettings)
    language_code: str | None = None
    # Google Search grounding (reference §13.3): the model may search the web and cite the
    # pages it drew on, which the page shows under its answer.
    google_search: bool = False
    # Per model (live/models.py says which model takes which; asking a model for one it
    # does not take is refused). None: the model's own default, nothing sent.
    thinking_level: ThinkingLevel | None = None  # the extended-thinking model needs one
    media_resolution: MediaResolution | None = None  # of camera and screen frames
    affective_dialog: bool | None = None
    proactive_audio: bool | None = None
    # A sliding window over the context, so a conversation runs past the 15-minute audio
    # limit: from this many tokens on, the oldest turns go, down to half of it.
    context_compression: bool = True
    compression_trigger_tokens: int = 25_600
    # Gemini's own live avatar (§14): the model answers in fragmented MP4 (its voice muxed
    # in as AAC) instead of PCM. None: audio, and the page draws the avatar.
    avatar: NativeAvatar | None = None

    def __post_init__(self) -> None:
        """Raises `UnsupportedSetting` (a ValueError naming the setting) for a combination
        the model does not accept, ValueError for a compression bound below
        `MIN_TRIGGER_TOKENS`."""
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
        if self.compression_trigger_tokens < MIN_TRIGGER_TOKENS:
            raise ValueError(f"compression_trigger_tokens must be at least {MIN_TRIGGER_TOKENS}")


@dataclass(frozen=True)
class ModelFields:
    """The per-model setup fields a persona's setup carries, as wire values; None: not
    sent. Both Live clients write exactly these (`connect_config`, `setup_body`)."""

    model: LiveModel
    thinking_level: str | None  # "LOW"
    media_resolution: str | None  # "MEDIA_RESOLUTION_LOW"
    affective_dialog: bool | None
    proactive_audio: bool | None
    compression: tuple[int, int] | None  # trigger tokens, sliding window target tokens


def model_fields(persona: Persona) -> ModelFields:
    """What of the persona's per-model settings its model takes (nothing it rejects)."""
    m = live_model(persona.model)
    level = persona.thinking_level if persona.thinking_level in m.thinking_levels else None
    resolution = persona.media_resolution if m.media_resolution else None
    trigger = persona.compression_trigger_tokens
    return ModelFields(
        model=m,
        thinking_level=level.upper() if level else None,
        media_resolution=f"MEDIA_RESOLUTION_{resolution}" if resolution else None,
        affective_dialog=persona.affective_dialog if m.affective_dialog else None,
        proactive_audio=(persona.proactive_audio if m.proactive_audio == "optional" else None),
        compression=(
            (trigger, trigger // 2)
            if persona.context_compression and m.context_compression
            else None
        ),
    )


def manual_activity(persona: Persona) -> bool:
    """Whether the client marks the user's activity (Live's automatic detection off):
    so asked, or because our own detector decides (`turn_detection == "smart"`)."""
    return persona.vad.disabled or persona.turn_detection == "smart"


def connect_config(
    persona: Persona,
    declarations: list[FunctionSpec],
    handle: str | None,
) -> types.LiveConnectConfig:
    """The full Live setup for a persona: audio out with both transcriptions, the persona's
    voice and instruction, tools, VAD, resumption (with `handle` to continue a session),
    context compression (so a conversation can outlive any one connection) and the
    per-model fields its model takes (`model_fields`)."""
    vad = persona.vad
    fields = model_fields(persona)
    avatar = persona.avatar
    return types.LiveConnectConfig(
        # The avatar's video alone: its voice comes muxed in (AUDIO beside it is 1007, §14.2).
        response_modalities=[types.Modality.VIDEO if avatar else types.Modality.AUDIO],
        avatar_config=_avatar_config(avatar) if avatar else None,
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=persona.voice)
            ),
            language_code=persona.language_code,
        ),
        system_instruction=persona.system_instruction,
        tools=_tools(persona, declarations, fields.model),
        thinking_config=(
            types.ThinkingConfig(thinking_level=types.ThinkingLevel(fields.thinking_level))
            if fields.thinking_level
            else None
        ),
        media_resolution=(
            types.MediaResolution(fields.media_resolution) if fields.media_resolution else None
        ),
        enable_affective_dialog=fields.affective_dialog,
        proactivity=(
            types.ProactivityConfig(proactive_audio=fields.proactive_audio)
            if fields.proactive_audio is not None
            else None
        ),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                disabled=manual_activity(persona),
                start_of_speech_sensitivity=types.StartSensitivity(
                    f"START_SENSITIVITY_{vad.start_sensitivity}"
                ),
                end_of_speech_sensitivity=types.EndSensitivity(
                    f"END_SENSITIVITY_{vad.end_sensitivity}"
                ),
                prefix_padding_ms=vad.prefix_padding_ms,
                silence_duration_ms=vad.silence_duration_ms,
            ),
            activity_handling=types.ActivityHandling.START_OF_ACTIVITY_INTERRUPTS,
        ),
        input_audio_transcription=types.AudioTranscriptionConfig(),
        output_audio_transcription=types.AudioTranscriptionConfig(),
        session_resumption=types.SessionResumptionConfig(handle=handle),
        context_window_compression=(
            types.ContextWindowCompressionConfig(
                trigger_tokens=fields.compression[0],
                sliding_window=types.SlidingWindow(target_tokens=fields.compression[1]),
            )
            if fields.compression
            else None
        ),
    )


def _avatar_config(avatar: NativeAvatar) -> types.AvatarConfig:
    if avatar.name is not None:
        return types.AvatarConfig(avatar_name=avatar.name)
    return types.AvatarConfig(
        customized_avatar=types.CustomizedAvatar(
            image_mime_type=avatar.image_mime, image_data=avatar.image
        )
    )


def _tools(
    persona: Persona, declarations: list[FunctionSpec], model: LiveModel
) -> types.ToolListUnion | None:
    # Search first, then functions: the order the SDK sends them in whatever order it is
    # given, which `endpoint.setup_body` writes too.
    tools: types.ToolListUnion = []
    if persona.google_search:
        tools.append(types.Tool(google_search=types.GoogleSearch()))
    if declarations:
        tools.append(
            types.Tool(function_declarations=[_declaration(d, model) for d in declarations])
        )
    return tools or None


def _declaration(spec: FunctionSpec, model: LiveModel) -> types.FunctionDeclaration:
    behavior = model.behavior(spec.non_blocking)
    return types.FunctionDeclaration(
        name=spec.name,
        description=spec.description,
        parameters_json_schema=spec.parameters,
        behavior=types.Behavior(behavior) if behavior else None,
    )
