"""Parity of the two Live clients (raw, the default, and the google-genai SDK path).

1. For the same persona both send the same `setup` on the wire (keys compared in one
   spelling: the service reads snake_case and camelCase alike, reference §2).
2. For every server message shape in the protocol reference (§5, §13, §14.3), both yield
   the same events, and those are the events the reference calls for: the wire JSON goes
   to `raw.translate_json`, and through the SDK's own parse (`AsyncSession._receive`) to
   `connection.translate`, for the Gemini API and for Vertex.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.genai import types

from liveavatar.live.connection import translate
from liveavatar.live.persona import Persona, VadSettings
from liveavatar.live.raw import translate_json
from liveavatar.tools import ToolRegistry, default_tools

from .shapes import SHAPES
from .wire import BACKENDS, Backend, camel_keys, raw_setup, sdk_receive, sdk_setup

# ---- 1. setup --------------------------------------------------------------------------

KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"
SLOW_LOOKUP = types.FunctionDeclaration(
    name="book_table",
    description="Book a table; slow, so the avatar keeps talking",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "party_size": types.Schema(type=types.Type.INTEGER),
            "time_of_day": types.Schema(type=types.Type.STRING, enum=["lunch", "dinner"]),
        },
        required=["party_size"],
    ),
    behavior=types.Behavior.NON_BLOCKING,
)


def builtin_tools() -> list[types.FunctionDeclaration]:
    return ToolRegistry(default_tools(KNOWLEDGE)).declarations()


PERSONAS: dict[str, tuple[Persona, str | None, bool]] = {
    # name: (persona, resumption handle, with our built-in tools + one OpenAPI-schema tool)
    "default": (Persona(), None, False),
    "tools": (Persona(), None, True),
    "vad-manual": (Persona(vad=VadSettings(disabled=True)), None, False),
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
    assert vad["disabled"] is persona.vad.disabled
    assert vad["silenceDurationMs"] == persona.vad.silence_duration_ms
    tools = setup.get("tools", [])
    assert sum(len(t.get("functionDeclarations", [])) for t in tools) == len(decls)
    assert ({"googleSearch": {}} in tools) is persona.google_search
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
