"""Per-model behaviour of the emulator through real clients (reference §13.1, §13.2): what a
model refuses closes the socket with 1007; NON_BLOCKING calls keep the model talking and
their answers are folded in by `scheduling`; the extended-thinking model says when it is
done with `interactionStatus`."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import errors, types

from liveavatar.emulator.server import EmulatorServer
from liveavatar.live.connection import LiveOpenError
from liveavatar.live.endpoint import endpoint_factory
from liveavatar.live.raw import RawLiveConnection
from liveavatar.settings import Settings
from tests.support.live import Transcript, reading, rms, sdk_client, turn_completes

ET = "gemini-3.8-live-extended-thinking"
SPEECH = types.SpeechConfig(
    voice_config=types.VoiceConfig(
        prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore")
    )
)


def config(*, behavior: types.Behavior | None, **extra: Any) -> types.LiveConnectConfig:
    """Audio out with transcripts and one slow lookup tool declared with `behavior`."""
    lookup = types.FunctionDeclaration(
        name="lookup_order_status",
        description="Look up the status of an order",
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={"order": types.Schema(type=types.Type.STRING)},
        ),
        behavior=behavior,
    )
    return types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        output_audio_transcription=types.AudioTranscriptionConfig(),
        speech_config=SPEECH,
        tools=[types.Tool(function_declarations=[lookup])],
        **extra,
    )


def tool_calls(t: Transcript) -> list[types.FunctionCall]:
    return [fc for m in t.messages if m.tool_call for fc in m.tool_call.function_calls or []]


def kinds(t: Transcript) -> list[str]:
    """The transcript's turn structure: spoken sentences, calls, interruptions, ends."""
    out: list[str] = []
    for m in t.messages:
        sc = m.server_content
        if m.tool_call:
            out.append("call")
        if sc and sc.output_transcription and sc.output_transcription.text:
            out.append(sc.output_transcription.text.strip())
        if sc and sc.interrupted:
            out.append("interrupted")
        if sc and sc.turn_complete:
            status = sc.interaction_status
            out.append(f"turn_complete:{status.value}" if status else "turn_complete")
    return out


# ---- refusals ----------------------------------------------------------------------------


async def test_3_8_refuses_thinking_config_with_1007_through_the_sdk(
    emulator: EmulatorServer,
) -> None:
    client = sdk_client(emulator)
    thinking = types.LiveConnectConfig(
        thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW)
    )
    with pytest.raises(errors.APIError) as caught:
        async with client.aio.live.connect(model="gemini-3.8-live", config=thinking):
            pass
    assert caught.value.code == 1007
    assert caught.value.details == "Request contains an invalid argument."


@pytest.mark.parametrize(
    ("model", "generation", "reason"),
    [
        ("gemini-3.8-live", {"thinkingConfig": {"thinkingBudget": 0}}, "invalid argument"),
        ("gemini-3.8-live", {"enableAffectiveDialog": True}, "enable_affective_dialog"),
        (ET, {}, "invalid argument"),  # no thinking level
    ],
)
async def test_what_a_model_refuses_is_a_permanent_1007_for_our_client(
    emulator: EmulatorServer, model: str, generation: dict[str, Any], reason: str
) -> None:
    values: dict[str, Any] = {
        "vertex_ai_endpoint": emulator.url,
        "live_ca_file": emulator.cert_path,
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    endpoint = await endpoint_factory(settings)(model)
    body = {"generationConfig": {"responseModalities": ["AUDIO"], **generation}}
    with pytest.raises(LiveOpenError) as caught:
        await RawLiveConnection.open(endpoint, body)
    assert caught.value.code == 1007 and caught.value.permanent
    assert reason in str(caught.value.__cause__)


# ---- NON_BLOCKING calls ------------------------------------------------------------------


async def test_a_non_blocking_call_keeps_the_model_talking_and_its_answer_comes_when_idle(
    emulator: EmulatorServer,
) -> None:
    # 3.8 runs calls NON_BLOCKING unless declared otherwise (reference §6).
    client = sdk_client(emulator)
    async with (
        client.aio.live.connect(model="gemini-3.8-live", config=config(behavior=None)) as s,
        reading(s) as t,
    ):
        await s.send_realtime_input(text="look up the status of order seven")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        # The model talked on and finished its turn while the call is unanswered.
        (call,) = tool_calls(t)
        assert call.name == "lookup_order_status" and call.id
        filler_audio = t.audio()
        assert rms(filler_audio) > 0.01
        await s.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id, name=call.name, response={"output": "shipped yesterday"}
            )  # no scheduling: WHEN_IDLE
        )
        await t.wait_for(lambda t: turn_completes(t) >= 2)
    assert kinds(t) == [
        "call",
        "One moment, let me check.",
        "turn_complete",
        "shipped yesterday.",
        "turn_complete",
    ]
    assert len(t.audio()) > len(filler_audio)


async def test_an_interrupt_answer_cuts_off_what_the_model_is_saying(
    emulator: EmulatorServer,
) -> None:
    client = sdk_client(emulator)
    cfg = config(behavior=types.Behavior.NON_BLOCKING)
    async with (
        client.aio.live.connect(model="gemini-3.8-live", config=cfg) as s,
        reading(s) as t,
    ):
        await s.send_realtime_input(text="look up the status of order seven")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        (call,) = tool_calls(t)
        await s.send_realtime_input(text="tell me a joke")
        await t.wait_for(lambda t: "Why did the scarecrow win an award?" in kinds(t))
        await s.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id,
                name=call.name,
                response={"output": "shipped yesterday"},
                scheduling=types.FunctionResponseScheduling.INTERRUPT,
            )
        )
        await t.wait_for(lambda t: turn_completes(t) >= 3)
    k = kinds(t)
    # The joke's punch line never came: the answer cut in.
    assert k[k.index("Why did the scarecrow win an award?") + 1 :] == [
        "interrupted",
        "turn_complete",
        "shipped yesterday.",
        "turn_complete",
    ]


async def test_a_when_idle_answer_waits_for_the_current_output(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    cfg = config(behavior=types.Behavior.NON_BLOCKING)
    async with (
        client.aio.live.connect(model="gemini-3.8-live", config=cfg) as s,
        reading(s) as t,
    ):
        await s.send_realtime_input(text="look up the status of order seven")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        (call,) = tool_calls(t)
        await s.send_realtime_input(text="tell me a joke")
        await t.wait_for(lambda t: "Why did the scarecrow win an award?" in kinds(t))
        # Shape B (the docs'): scheduling inside `response`.
        await s.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id,
                name=call.name,
                response={"output": "shipped yesterday", "scheduling": "WHEN_IDLE"},
            )
        )
        await t.wait_for(lambda t: turn_completes(t) >= 3)
    k = kinds(t)
    assert k[k.index("Why did the scarecrow win an award?") + 1 :] == [
        "Because he was outstanding in his field.",
        "turn_complete",
        "shipped yesterday.",
        "turn_complete",
    ]


async def test_a_silent_answer_only_adds_to_the_context(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    cfg = config(behavior=types.Behavior.NON_BLOCKING)
    async with (
        client.aio.live.connect(model="gemini-3.8-live", config=cfg) as s,
        reading(s) as t,
    ):
        await s.send_realtime_input(text="look up the status of order seven")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        (call,) = tool_calls(t)
        await s.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id,
                name=call.name,
                response={"output": "shipped yesterday"},
                scheduling=types.FunctionResponseScheduling.SILENT,
            )
        )
        # Nothing is said to it; the next thing said is the answer to the next question.
        await s.send_realtime_input(text="hello there")
        await t.wait_for(lambda t: turn_completes(t) >= 2)
    assert kinds(t) == [
        "call",
        "One moment, let me check.",
        "turn_complete",
        "Hello!",
        "I am Gemini.",
        "How can I help you today?",
        "turn_complete",
    ]


# ---- extended thinking -------------------------------------------------------------------


async def test_extended_thinking_is_in_progress_until_the_call_is_answered(
    emulator: EmulatorServer,
) -> None:
    client = sdk_client(emulator)
    cfg = config(
        behavior=None,  # async only on this model
        thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.MEDIUM),
    )
    async with client.aio.live.connect(model=ET, config=cfg) as s, reading(s) as t:
        await s.send_realtime_input(text="look up the status of order seven")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        (call,) = tool_calls(t)
        await s.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id, name=call.name, response={"output": "shipped yesterday"}
            )
        )
        await t.wait_for(lambda t: turn_completes(t) >= 2)
        await s.send_realtime_input(text="thank you")
        await t.wait_for(lambda t: turn_completes(t) >= 3)
    spoken_and_ends = [k for k in kinds(t) if k == "call" or k.startswith(("turn_", "One", "shi"))]
    assert spoken_and_ends == [
        "call",
        "One moment, let me check.",
        "turn_complete:IN_PROGRESS",
        "shipped yesterday.",
        "turn_complete:IDLE",
        "turn_complete:IDLE",  # a plain answer is done at once
    ]
