"""Speech asking for a client's own tools, streamed to the emulator through the real SDK."""

from __future__ import annotations

from collections.abc import Callable

from google.genai import types

from liveavatar.emulator.server import EmulatorServer
from tests.support.live import MODEL, Transcript, reading, sdk_client, speak, turn_completes


def declare(name: str, description: str, param: str, kind: types.Type) -> types.FunctionDeclaration:
    return types.FunctionDeclaration(
        name=name,
        description=description,
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={param: types.Schema(type=kind)},
            required=[param],
        ),
    )


TOOL = types.Tool(
    function_declarations=[
        declare("get_weather", "Get the current weather for a city", "city", types.Type.STRING),
        declare("set_timer", "Start a countdown timer", "minutes", types.Type.INTEGER),
        declare(
            "lookup_order",
            "Look up a customer's latest order",
            "customer_name",
            types.Type.STRING,
        ),
    ]
)
CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
    tools=[TOOL],
)
REQUESTS = [
    ("what is the weather like in paris", "get_weather", {"city": "paris"}, "sunny"),
    ("set a timer for twenty five minutes", "set_timer", {"minutes": 25}, "started"),
    ("look up the latest order for david", "lookup_order", {"customer_name": "david"}, "shipped"),
]


def has_call(m: types.LiveServerMessage) -> bool:
    return m.tool_call is not None


def calls(t: Transcript) -> int:
    return t.count(has_call)


def at_least(count: Callable[[Transcript], int], n: int) -> Callable[[Transcript], bool]:
    return lambda t: count(t) >= n


async def test_spoken_requests_call_the_sessions_tools(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    async with (
        client.aio.live.connect(model=MODEL, config=CONFIG) as session,
        reading(session) as t,
    ):
        for n, (said, name, args, result) in enumerate(REQUESTS, start=1):
            await speak(session, said)
            await t.wait_for(at_least(calls, n))
            call_msg = [m for m in t.messages if has_call(m)][-1]
            assert call_msg.tool_call and call_msg.tool_call.function_calls
            (call,) = call_msg.tool_call.function_calls
            assert (call.name, call.args) == (name, args)
            await session.send_tool_response(
                function_responses=types.FunctionResponse(
                    id=call.id, name=call.name, response={"output": result}
                )
            )
            await t.wait_for(at_least(turn_completes, n))
    # What the client was told it said is what was said, word for word.
    assert t.input_text() == " ".join(said for said, *_ in REQUESTS)
