"""The table of what each Live model accepts (reference §10, §13.1), the persona settings it
refuses by name, and the tool declarations and answers both Live clients send for it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from liveavatar.live.endpoint import setup_body
from liveavatar.live.events import FunctionCall, ToolCall
from liveavatar.live.models import MODELS, UnsupportedSetting, check_api, check_choices, live_model
from liveavatar.live.persona import Persona, connect_config
from liveavatar.live.tools import FunctionSpec, ToolResponse, declared_non_blocking

from .wire import BACKENDS, Backend, camel_keys, open_raw, open_sdk

ET = "gemini-3.8-live-extended-thinking"
V25 = "gemini-live-2.5-flash-native-audio"
TR = "gemini-3.5-live-translate-preview"
F31 = "gemini-3.1-flash-live-preview"


def test_the_models_of_the_reference_are_in_the_table() -> None:
    assert {"gemini-3.8-live", ET, F31, V25, TR} <= set(MODELS)
    assert MODELS["gemini-3.8-live"].apis == {"gemini", "vertex"}
    assert MODELS[V25].apis == {"vertex"}
    assert MODELS[ET].apis == MODELS[F31].apis == MODELS[TR].apis == {"gemini"}
    assert live_model("models/gemini-3.8-live") is MODELS["gemini-3.8-live"]
    assert live_model(f"projects/p/locations/l/publishers/google/models/{V25}") is MODELS[V25]


@pytest.mark.parametrize(
    ("model", "non_blocking", "declared"),
    [
        # 3.8: both kinds, NON_BLOCKING the default, so each is written out.
        ("gemini-3.8-live", True, "NON_BLOCKING"),
        ("gemini-3.8-live", False, "BLOCKING"),
        # Extended thinking: async only, whatever the tool.
        (ET, True, "NON_BLOCKING"),
        (ET, False, "NON_BLOCKING"),
        # 3.1: synchronous calls only; `behavior` has no use there and is never sent.
        (F31, True, None),
        (F31, False, None),
        (V25, True, "NON_BLOCKING"),
        (V25, False, "BLOCKING"),
    ],
)
def test_tool_behavior_per_model(model: str, non_blocking: bool, declared: str | None) -> None:
    assert live_model(model).behavior(non_blocking) == declared


REFUSALS: dict[str, tuple[str, dict[str, Any]]] = {
    # (model, settings): the message naming the setting
    "model gemini-3.8-live does not accept thinking_level": (
        "gemini-3.8-live",
        {"thinking_level": "low"},
    ),
    "model gemini-3.8-live does not accept affective_dialog": (
        "gemini-3.8-live",
        {"affective_dialog": True},
    ),
    "model gemini-3.8-live does not accept proactive_audio false": (
        "gemini-3.8-live",
        {"proactive_audio": False},
    ),
    f"model {ET} requires thinking_level \\(low, medium or high\\)": (ET, {}),
    f"model {ET} does not accept thinking_level 'minimal' \\(it takes low, medium or high\\)": (
        ET,
        {"thinking_level": "minimal"},
    ),
    f"model {F31} does not accept affective_dialog": (F31, {"affective_dialog": False}),
    f"model {F31} does not accept proactive_audio": (F31, {"proactive_audio": True}),
    f"model {V25} does not accept thinking_level": (V25, {"thinking_level": "low"}),
    f"model {V25} does not accept media_resolution": (V25, {"media_resolution": "LOW"}),
    f"model {TR} does not accept tools": (TR, {"tools": ["get_current_time"]}),
    f"model {TR} does not accept google_search": (TR, {"google_search": True}),
    f"model {TR} does not accept media_resolution": (TR, {"media_resolution": "HIGH"}),
    "model gemini-0.1-nonexistent is not a known Live model": ("gemini-0.1-nonexistent", {}),
}


@pytest.mark.parametrize("message", list(REFUSALS))
def test_a_setting_the_model_does_not_accept_is_refused_by_name(message: str) -> None:
    model, settings = REFUSALS[message]
    with pytest.raises(UnsupportedSetting, match=f"^{message}"):
        check_choices(model, **settings)
    # A Live persona is checked the same way when it is made.
    persona_settings = {**settings, "tools": tuple(settings.get("tools", ()))}
    with pytest.raises(UnsupportedSetting, match=f"^{message}"):
        Persona(model=model, **persona_settings)


def test_what_each_model_takes_is_accepted() -> None:
    check_choices("gemini-3.8-live", proactive_audio=True, media_resolution="HIGH", tools=["t"])
    check_choices(ET, thinking_level="high", google_search=True, tools=["t"])
    check_choices(F31, thinking_level="minimal", context_compression=True)
    check_choices(V25, affective_dialog=True, proactive_audio=False, api="vertex")
    check_choices(TR)


def test_a_model_the_backend_does_not_serve_is_refused() -> None:
    with pytest.raises(UnsupportedSetting, match=f"^model {V25} is not served by the Gemini API"):
        check_api(V25, "gemini")
    with pytest.raises(UnsupportedSetting, match=f"^model {ET} is not served by Vertex AI"):
        check_api(ET, "vertex")
    check_api("gemini-3.8-live", "vertex")


def test_compression_needs_room() -> None:
    with pytest.raises(ValueError, match="compression_trigger_tokens"):
        Persona(compression_trigger_tokens=999)


# ---- tool declarations and answers on the wire -------------------------------------------

SLOW = FunctionSpec("lookup_order", "Look up an order", {"type": "object"}, non_blocking=True)
QUICK = FunctionSpec("get_current_time", "Get the time", {"type": "object"})
TOOL_CALL = {
    "toolCall": {
        "functionCalls": [
            {"id": "a", "name": "lookup_order", "args": {"n": 1}},
            {"id": "b", "name": "get_current_time"},
        ]
    }
}
EXPECTED_CALLS = ToolCall(
    (
        FunctionCall("a", "lookup_order", {"n": 1}, non_blocking=True),
        FunctionCall("b", "get_current_time", {}, non_blocking=False),
    )
)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_calls_of_functions_declared_non_blocking_are_marked_by_both_clients(
    monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    persona = Persona(tools=(SLOW.name, QUICK.name))
    setup = setup_body(persona, [SLOW, QUICK], None)
    assert declared_non_blocking(setup["tools"]) == {"lookup_order"}
    frame = json.dumps(TOOL_CALL).encode()
    sdk, _ = await open_sdk(
        monkeypatch, backend, persona.model, connect_config(persona, [SLOW, QUICK], None), [frame]
    )
    raw, _ = await open_raw(monkeypatch, backend, persona.model, setup, [frame])
    for conn in (sdk, raw):
        events = aiter(conn.events())
        assert await anext(events) == EXPECTED_CALLS
        await conn.close()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_tool_answers_carry_scheduling_as_each_client_sends_it(
    monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    persona = Persona()
    answers = [
        ToolResponse("a", "lookup_order", {"output": {"status": "shipped"}}, "INTERRUPT"),
        ToolResponse("b", "get_current_time", {"output": "noon"}),  # a blocking call's
    ]
    sdk, sdk_sock = await open_sdk(
        monkeypatch, backend, persona.model, connect_config(persona, [], None)
    )
    await sdk.send_tool_responses(answers)
    raw, raw_sock = await open_raw(
        monkeypatch, backend, persona.model, setup_body(persona, [], None)
    )
    await raw.send_tool_responses(answers)

    # The SDK: `scheduling` beside `response` (reference §13.2, shape A).
    sdk_sent = camel_keys(sdk_sock.messages()[-1])["toolResponse"]["functionResponses"]
    assert sdk_sent == [
        {
            "id": "a",
            "name": "lookup_order",
            "response": {"output": {"status": "shipped"}},
            "scheduling": "INTERRUPT",
        },
        {"id": "b", "name": "get_current_time", "response": {"output": "noon"}},
    ]
    # Ours: in both places the reference knows (shapes A and B), which is the safe choice.
    raw_sent = raw_sock.messages()[-1]["toolResponse"]["functionResponses"]
    assert raw_sent == [
        {
            "id": "a",
            "name": "lookup_order",
            "response": {"output": {"status": "shipped"}, "scheduling": "INTERRUPT"},
            "scheduling": "INTERRUPT",
        },
        {"id": "b", "name": "get_current_time", "response": {"output": "noon"}},
    ]
