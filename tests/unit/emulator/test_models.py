"""The emulator refuses per model what the service refuses (reference §8, §13.1), and reads
what the service reads: compression in numbers or numeric strings, `scheduling` in both
shapes (§13.2)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveavatar.emulator.errors import INVALID_ARGUMENT, POLICY, LiveCloseError
from liveavatar.emulator.models import MODELS, UNKNOWN_AFFECTIVE, check_setup
from liveavatar.emulator.routing import Route
from liveavatar.emulator.wire import Setup, ToolResponse, parse_client_message
from liveavatar.live.endpoint import setup_body
from liveavatar.live.models import MODELS as CLIENT_MODELS
from liveavatar.live.persona import Persona
from liveavatar.live.tools import FunctionSpec

GEMINI = Route("gemini", "v1beta", False)
VERTEX = Route("vertex", "v1", False)
GENERIC = "Request contains an invalid argument."
ET = "gemini-3.8-live-extended-thinking"


def setup(model: str, **fields: Any) -> Setup:
    kind, body = parse_client_message(json.dumps({"setup": {"model": f"models/{model}", **fields}}))
    assert isinstance(body, Setup)
    return body


def refused(model: str, route: Route = GEMINI, **fields: Any) -> LiveCloseError:
    with pytest.raises(LiveCloseError) as caught:
        check_setup(setup(model, **fields), model, route)
    return caught.value


def thinking(**config: Any) -> dict[str, Any]:
    return {"generationConfig": {"thinkingConfig": config}}


def tool(behavior: str | None) -> dict[str, Any]:
    fd: dict[str, Any] = {"name": "lookup", "description": "Look it up"}
    if behavior:
        fd["behavior"] = behavior
    return {"tools": [{"functionDeclarations": [fd]}]}


@pytest.mark.parametrize(
    ("model", "fields", "reason"),
    [
        # 3.8: thinkingConfig closes with 1007 [R1]; affective dialog is an unknown name [G1];
        # proactive audio cannot be turned off [D1].
        ("gemini-3.8-live", thinking(thinkingLevel="LOW"), GENERIC),
        ("gemini-3.8-live", thinking(thinkingBudget=0), GENERIC),
        (
            "gemini-3.8-live",
            {"generationConfig": {"enableAffectiveDialog": True}},
            UNKNOWN_AFFECTIVE,
        ),
        ("gemini-3.8-live", {"proactivity": {"proactiveAudio": False}}, GENERIC),
        # Extended thinking: a level low/medium/high is required; BLOCKING is an error.
        (ET, {}, GENERIC),
        (ET, thinking(thinkingLevel="minimal"), GENERIC),
        (ET, thinking(thinkingLevel="low", thinkingBudget=512), GENERIC),
        (ET, {**thinking(thinkingLevel="high"), **tool("BLOCKING")}, GENERIC),
        # 3.1: levels only, sync calls only, no proactivity or affective dialog.
        ("gemini-3.1-flash-live-preview", thinking(thinkingBudget=1024), GENERIC),
        ("gemini-3.1-flash-live-preview", tool("NON_BLOCKING"), GENERIC),
        ("gemini-3.1-flash-live-preview", {"proactivity": {"proactiveAudio": True}}, GENERIC),
        # Translation: no tools, no search, audio input only.
        ("gemini-3.5-live-translate-preview", tool(None), GENERIC),
        ("gemini-3.5-live-translate-preview", {"tools": [{"googleSearch": {}}]}, GENERIC),
        (
            "gemini-3.5-live-translate-preview",
            {"generationConfig": {"mediaResolution": "MEDIA_RESOLUTION_LOW"}},
            GENERIC,
        ),
        # The Gemini API's 2.5 previews: affective dialog only on v1alpha [R7].
        (
            "gemini-2.5-flash-native-audio-preview-12-2025",
            {"generationConfig": {"enableAffectiveDialog": True}},
            GENERIC,
        ),
    ],
)
def test_what_a_model_rejects_closes_with_1007(
    model: str, fields: dict[str, Any], reason: str
) -> None:
    error = refused(model, **fields)
    assert (error.code, error.reason) == (INVALID_ARGUMENT, reason)


def test_a_model_another_api_serves_is_not_found() -> None:
    error = refused("gemini-live-2.5-flash-native-audio", GEMINI)
    assert error.code == POLICY and "is not found for API version v1beta" in error.reason
    assert refused(ET, VERTEX).code == POLICY


def test_what_each_model_takes_is_accepted() -> None:
    check_setup(setup("gemini-3.8-live", **tool(None)), "gemini-3.8-live", VERTEX)
    check_setup(setup(ET, **thinking(thinkingLevel="high"), **tool(None)), ET, GEMINI)
    check_setup(setup(ET, **thinking(thinkingBudget=2048)), ET, GEMINI)  # R2
    rules = check_setup(
        setup(
            "gemini-live-2.5-flash-native-audio",
            generationConfig={
                "enableAffectiveDialog": True,
                "thinkingConfig": {"thinkingBudget": 0},
            },
            proactivity={"proactiveAudio": True},
            **tool("NON_BLOCKING"),
        ),
        "gemini-live-2.5-flash-native-audio",
        VERTEX,
    )
    assert rules.non_blocking("NON_BLOCKING") and not rules.non_blocking(None)
    alpha = Route("gemini", "v1alpha", False)
    preview = "gemini-2.5-flash-native-audio-preview-09-2025"
    check_setup(setup(preview, generationConfig={"enableAffectiveDialog": True}), preview, alpha)


def test_default_behavior_per_model() -> None:
    assert MODELS["gemini-3.8-live"].non_blocking(None)  # NON_BLOCKING is 3.8's default
    assert not MODELS["gemini-3.8-live"].non_blocking("BLOCKING")
    assert MODELS[ET].non_blocking(None)
    assert not MODELS["gemini-3.1-flash-live-preview"].non_blocking(None)
    assert MODELS[ET].interaction_status and not MODELS["gemini-3.8-live"].interaction_status


@pytest.mark.parametrize("tokens", [25_600, "25600"])
def test_compression_in_numbers_and_numeric_strings(tokens: int | str) -> None:
    body = setup(
        "gemini-3.8-live",
        contextWindowCompression={
            "triggerTokens": tokens,
            "slidingWindow": {"targetTokens": tokens},
        },
    )
    cwc = body.context_window_compression
    assert cwc and cwc.trigger_tokens == 25_600
    assert cwc.sliding_window and cwc.sliding_window.target_tokens == 25_600


def test_compression_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(LiveCloseError) as caught:
        setup("gemini-3.8-live", contextWindowCompression={"triggerTokens": "lots"})
    assert caught.value.code == INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"id": "a", "response": {"output": 1}, "scheduling": "INTERRUPT"}, "INTERRUPT"),  # A
        ({"id": "a", "response": {"result": "ok", "scheduling": "SILENT"}}, "SILENT"),  # B
        ({"id": "a", "response": {"output": 1}}, "WHEN_IDLE"),  # the default
        (
            {"id": "a", "response": {"output": 1}, "scheduling": "SCHEDULING_UNSPECIFIED"},
            "WHEN_IDLE",
        ),
    ],
)
def test_scheduling_is_read_in_both_shapes(response: dict[str, Any], expected: str) -> None:
    _, body = parse_client_message(json.dumps({"toolResponse": {"functionResponses": [response]}}))
    assert isinstance(body, ToolResponse)
    (fr,) = body.function_responses
    assert fr.schedule() == expected
    assert "scheduling" not in fr.result()


def test_an_unknown_scheduling_closes_with_1007() -> None:
    message = {"toolResponse": {"functionResponses": [{"id": "a", "scheduling": "INTERRUPTED"}]}}
    with pytest.raises(LiveCloseError) as caught:
        parse_client_message(json.dumps(message))
    assert caught.value.code == INVALID_ARGUMENT


# ---- the backend's table and the emulator's rules agree ----------------------------------

SLOW = FunctionSpec("lookup", "Look it up", {"type": "object"}, non_blocking=True)
QUICK = FunctionSpec("clock", "The time", {"type": "object"})


@pytest.mark.parametrize("model", sorted(CLIENT_MODELS))
def test_every_setup_the_backend_builds_is_accepted_by_the_emulator(model: str) -> None:
    m = CLIENT_MODELS[model]
    persona = Persona(
        model=model,
        thinking_level=max(m.thinking_levels, default=None),
        media_resolution="LOW" if m.media_resolution else None,
        affective_dialog=True if m.affective_dialog else None,
        proactive_audio=True if m.proactive_audio != "unsupported" else None,
        tools=("lookup", "clock") if m.behaviors else (),
        google_search=m.google_search,
    )
    body = setup_body(persona, [SLOW, QUICK] if m.behaviors else [], None)
    route = GEMINI if "gemini" in m.apis else VERTEX
    check_setup(setup(model, **body), model, route)
