"""Parity of the two Live clients (raw, the default, and the google-genai SDK path).

1. For the same persona both send the same `setup` on the wire (keys compared in one
   spelling: the service reads snake_case and camelCase alike, reference §2).
2. For every server message shape in the protocol reference (§5, §13, §14.3), both yield
   the same events, and those are the events the reference calls for: the wire JSON goes
   to `raw.translate_json`, and through the SDK's own parse (`AsyncSession._receive`) to
   `sdk_events.translate`, for the Gemini API and for Vertex.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from liveavatar.live.avatar import NativeAvatar
from liveavatar.live.events import AudioOut, OutputText, VideoOut
from liveavatar.live.models import live_model
from liveavatar.live.persona import Persona, VadSettings
from liveavatar.live.raw import translate_json
from liveavatar.live.sdk_events import translate
from liveavatar.live.tools import FunctionSpec
from liveavatar.tools import ToolRegistry, default_tools

from .shapes import SHAPES
from .wire import BACKENDS, Backend, camel_keys, raw_setup, sdk_receive, sdk_setup

# ---- 1. setup --------------------------------------------------------------------------

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"
SLOW_LOOKUP = FunctionSpec(
    name="book_table",
    description="Book a table; slow, so the avatar keeps talking",
    parameters={
        "type": "object",
        "properties": {
            "party_size": {"type": "integer"},
            "time_of_day": {"type": "string", "enum": ["lunch", "dinner"]},
        },
        "required": ["party_size"],
    },
    non_blocking=True,
)
ET = "gemini-3.8-live-extended-thinking"


def builtin_tools() -> list[FunctionSpec]:
    return ToolRegistry(default_tools(KNOWLEDGE)).declarations()


PERSONAS: dict[str, tuple[Persona, str | None, bool]] = {
    # name: (persona, resumption handle, with our built-in tools + one more slow tool)
    "default": (Persona(), None, False),
    "tools": (Persona(), None, True),
    "vad-manual": (Persona(vad=VadSettings(disabled=True)), None, False),
    # Our detector marks the turns: Live's automatic detection is off.
    "smart-turn": (Persona(turn_detection="smart"), None, False),
    "vad-tuned": (
        Persona(
            vad=VadSettings(
                start_sensitivity="LOW",
                end_sensitivity="LOW",
                prefix_padding_ms=120,
                silence_duration_ms=800,
            )
        ),
        None,
        True,
    ),
    "resumed": (Persona(), "Cj4K-handle_with/odd+chars==", True),
    "search": (Persona(google_search=True), None, False),
    "search-and-tools": (Persona(google_search=True), None, True),
    "voice-kore-de": (Persona(voice="Kore", language_code="de-DE"), None, False),
    "voice-zephyr": (
        Persona(
            name="Zed",
            voice="Zephyr",
            language_code="en-GB",
            system_instruction='Say "hi" — in one line.\nThen stop. Ünïcode ok.',
            model="gemini-2.5-flash-native-audio-preview-12-2025",
        ),
        "h-2",
        False,
    ),
    # Per model (live/models.py, reference §13.1): what each takes, and nothing it rejects.
    "3.8-proactive-media": (
        Persona(proactive_audio=True, media_resolution="HIGH"),
        None,
        True,
    ),
    "3.8-extended-thinking": (Persona(model=ET, thinking_level="high"), None, True),
    "3.1-thinking-sync-tools": (
        Persona(model="gemini-3.1-flash-live-preview", thinking_level="minimal"),
        None,
        True,
    ),
    "2.5-vertex-affective-proactive": (
        Persona(
            model="gemini-live-2.5-flash-native-audio",
            affective_dialog=True,
            proactive_audio=True,
        ),
        None,
        True,
    ),
    "translate": (Persona(model="gemini-3.5-live-translate-preview", tools=()), None, False),
    "compression-off": (Persona(context_compression=False), None, False),
    "compression-tuned": (Persona(compression_trigger_tokens=64_000), None, False),
    "native-prebuilt": (Persona(avatar=NativeAvatar(name="Kira")), None, True),
    "native-image": (
        Persona(avatar=NativeAvatar(image=b"\x89PNG\xfb\xff\xfe", image_mime="image/png")),
        None,
        False,
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(PERSONAS))
async def test_both_clients_send_the_same_setup(
    monkeypatch: pytest.MonkeyPatch, backend: Backend, name: str
) -> None:
    persona, handle, with_tools = PERSONAS[name]
    decls = [*builtin_tools(), SLOW_LOOKUP] if with_tools else []
    sdk = camel_keys(await sdk_setup(monkeypatch, backend, persona, decls, handle))
    ours = camel_keys(await raw_setup(monkeypatch, backend, persona, decls, handle))
    assert ours == sdk
    # Not vacuously equal: the persona's choices are in it.
    setup = ours["setup"]
    voice = setup["generationConfig"]["speechConfig"]["voiceConfig"]["prebuiltVoiceConfig"]
    assert voice["voiceName"] == persona.voice
    assert setup["sessionResumption"] == ({"handle": handle} if handle else {})
    vad = setup["realtimeInputConfig"]["automaticActivityDetection"]
    assert vad["disabled"] is (persona.vad.disabled or persona.turn_detection == "smart")
    assert vad["silenceDurationMs"] == persona.vad.silence_duration_ms
    tools = setup.get("tools", [])
    assert sum(len(t.get("functionDeclarations", [])) for t in tools) == len(decls)
    assert ({"googleSearch": {}} in tools) is persona.google_search
    # The per-model fields: exactly what the model takes (§13.1).
    model = live_model(persona.model)
    declared = [d for t in tools for d in t.get("functionDeclarations", [])]
    assert [d.get("behavior") for d in declared] == [model.behavior(d.non_blocking) for d in decls]
    gen = setup["generationConfig"]
    level = persona.thinking_level
    assert gen.get("thinkingConfig") == ({"thinkingLevel": level.upper()} if level else None)
    resolution = persona.media_resolution
    assert gen.get("mediaResolution") == (f"MEDIA_RESOLUTION_{resolution}" if resolution else None)
    assert gen.get("enableAffectiveDialog") is persona.affective_dialog
    proactive = persona.proactive_audio if model.proactive_audio == "optional" else None
    assert setup.get("proactivity") == (None if proactive is None else {"proactiveAudio": True})
    compression = setup.get("contextWindowCompression")
    trigger = persona.compression_trigger_tokens
    assert compression == (
        {"triggerTokens": trigger, "slidingWindow": {"targetTokens": trigger // 2}}
        if persona.context_compression
        else None
    )
    # The native avatar: VIDEO alone, and its avatarConfig (snake_case inside, §14.2).
    avatar = persona.avatar
    assert gen["responseModalities"] == (["VIDEO"] if avatar else ["AUDIO"])
    if avatar is None:
        assert "avatarConfig" not in setup
    elif avatar.name:
        assert setup["avatarConfig"] == {"avatarName": avatar.name}
    else:
        custom = setup["avatarConfig"]["customizedAvatar"]
        assert custom["imageMimeType"] == "image/png"
        assert base64.urlsafe_b64decode(custom["imageData"]) == avatar.image
    if backend == "vertex":
        assert setup["model"] == (
            f"projects/parity-proj/locations/us-central1/publishers/google/models/{persona.model}"
        )
    else:
        assert setup["model"] == f"models/{persona.model}"


# ---- 2. server messages ----------------------------------------------------------------

CASES = [
    pytest.param(backend, name, id=f"{name}-{backend}")
    for name, shape in SHAPES.items()
    for backend in shape.backends
]


@pytest.mark.parametrize(("backend", "name"), CASES)
async def test_both_clients_yield_the_reference_events(
    monkeypatch: pytest.MonkeyPatch, backend: Backend, name: str
) -> None:
    shape = SHAPES[name]
    wire = json.loads(json.dumps(shape.message))  # exactly what a frame would carry
    ours = translate_json(wire, vertex=backend == "vertex")
    sdk = translate(await sdk_receive(monkeypatch, backend, shape.message))
    assert ours == sdk, "the two Live clients disagree"
    assert ours == shape.events


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_video_connection_yields_the_avatars_fmp4(
    monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    fmp4 = b"\x00\x00\x00\x18ftypiso5\xfb\xff"
    inline = {"mimeType": "video/mp4", "data": base64.b64encode(fmp4).decode()}
    message = {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": inline}]},
            "outputTranscription": {"text": "Hello"},
        }
    }
    wire = json.loads(json.dumps(message))
    ours = translate_json(wire, vertex=backend == "vertex", video=True)
    sdk = translate(await sdk_receive(monkeypatch, backend, message), video=True)
    assert ours == sdk == [VideoOut(fmp4), OutputText("Hello")]
    # The same bytes on an audio connection are audio, as before.
    assert translate_json(wire, vertex=backend == "vertex")[0] == AudioOut(fmp4)
