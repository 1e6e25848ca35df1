"""The avatar's persona and how it becomes a Live setup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from google.genai import types

Sensitivity = Literal["HIGH", "LOW"]

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
    language_code: str | None = None
    # Google Search grounding (reference §13.3): the model may search the web and cite the
    # pages it drew on, which the page shows under its answer.
    google_search: bool = False


def connect_config(
    persona: Persona,
    declarations: list[types.FunctionDeclaration],
    handle: str | None,
) -> types.LiveConnectConfig:
    """The full Live setup for a persona: audio out with both transcriptions, the persona's
    voice and instruction, tools, VAD, resumption (with `handle` to continue a session) and
    context compression, so a conversation can outlive any one connection."""
    vad = persona.vad
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        speech_config=types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=persona.voice)
            ),
            language_code=persona.language_code,
        ),
        system_instruction=persona.system_instruction,
        tools=_tools(persona, declarations),
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                disabled=vad.disabled,
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
        context_window_compression=types.ContextWindowCompressionConfig(
            trigger_tokens=25_600,
            sliding_window=types.SlidingWindow(target_tokens=12_800),
        ),
    )


def _tools(
    persona: Persona, declarations: list[types.FunctionDeclaration]
) -> types.ToolListUnion | None:
    # Search first, then functions: the order the SDK sends them in whatever order it is
    # given, which `endpoint.setup_body` writes too.
    tools: types.ToolListUnion = []
    if persona.google_search:
        tools.append(types.Tool(google_search=types.GoogleSearch()))
    if declarations:
        tools.append(types.Tool(function_declarations=declarations))
    return tools or None
