"""The real google-genai SDK talks to the emulator: speech, text, tools, barge-in."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import types

from liveavatar.emulator.server import EmulatorServer
from tests.support.live import Transcript, live_session, rms, speak, turn_completes

AUDIO_CONFIG = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    input_audio_transcription=types.AudioTranscriptionConfig(),
    output_audio_transcription=types.AudioTranscriptionConfig(),
    speech_config=types.SpeechConfig(
        voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore")
        )
    ),
    system_instruction="You are Ava, a friendly avatar.",
)


def has_audio(t: Transcript) -> bool:
    return len(t.audio()) > 0


@pytest.mark.parametrize("vertex", [False, True], ids=["api-key", "vertex"])
async def test_spoken_question_gets_transcribed_and_answered(
    emulator: EmulatorServer, vertex: bool
) -> None:
    async with live_session(emulator, AUDIO_CONFIG, vertex=vertex) as (session, t):
        await speak(session, "what time is it")
        await t.wait_for(lambda t: turn_completes(t) >= 1)

    assert t.input_text() == "what time is it"
    assert t.output_text().startswith("It is ")
    audio = t.audio()
    assert len(audio) > 24_000  # more than half a second at 24 kHz PCM16
    assert rms(audio) > 0.01
    mimes = {
        p.inline_data.mime_type
        for m in t.messages
        if m.server_content and m.server_content.model_turn
        for p in m.server_content.model_turn.parts or []
        if p.inline_data
    }
    assert mimes == {"audio/pcm;rate=24000"}
    generation = [
        i
        for i, m in enumerate(t.messages)
        if m.server_content and m.server_content.generation_complete
    ]
    done = [
        i for i, m in enumerate(t.messages) if m.server_content and m.server_content.turn_complete
    ]
    assert generation and done and generation[0] < done[0]
    usage = t.messages[done[0]].usage_metadata
    assert usage is not None
    assert usage.prompt_token_count and usage.prompt_token_count > 0
    assert usage.response_token_count and usage.response_token_count > 0
    assert usage.total_token_count == usage.prompt_token_count + usage.response_token_count


async def test_text_turn_uses_the_persona(emulator: EmulatorServer) -> None:
    async with live_session(emulator, AUDIO_CONFIG) as (session, t):
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="What is your name?")]),
            turn_complete=True,
        )
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    assert t.output_text() == "My name is Ava."
    assert rms(t.audio()) > 0.01


async def test_text_modality_answers_in_text(emulator: EmulatorServer) -> None:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT])
    async with live_session(emulator, config) as (session, t):
        await session.send_realtime_input(text="hello there")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    text = "".join(m.text or "" for m in t.messages)
    assert text.startswith("Hello! I am Gemini")
    assert t.audio() == b""


WEATHER = types.FunctionDeclaration(
    name="get_current_weather",
    description="Get the current weather for a city",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={
            "city": types.Schema(type=types.Type.STRING),
            "units": types.Schema(type=types.Type.STRING, enum=["celsius", "fahrenheit"]),
        },
        required=["city", "units"],
    ),
    # 3.8 runs a call NON_BLOCKING unless it is declared BLOCKING (test_model_features.py).
    behavior=types.Behavior.BLOCKING,
)


async def test_function_call_round_trip(emulator: EmulatorServer) -> None:
    config = AUDIO_CONFIG.model_copy(
        update={"tools": [types.Tool(function_declarations=[WEATHER])]}
    )
    async with live_session(emulator, config) as (session, t):
        await session.send_realtime_input(text="What is the weather like in Paris?")
        await t.wait_for(lambda t: t.count(lambda m: m.tool_call is not None) >= 1)
        call_msg = next(m for m in t.messages if m.tool_call)
        assert call_msg.tool_call and call_msg.tool_call.function_calls
        call = call_msg.tool_call.function_calls[0]
        assert call.name == "get_current_weather"
        assert call.args == {"city": "paris", "units": "celsius"}
        assert call.id
        assert turn_completes(t) == 0  # the model waits for the result
        await session.send_tool_response(
            function_responses=types.FunctionResponse(
                id=call.id, name=call.name, response={"output": "sunny and 21 degrees"}
            )
        )
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    assert t.output_text() == "sunny and 21 degrees."
    assert rms(t.audio()) > 0.01


async def test_speech_over_the_answer_interrupts_it(emulator: EmulatorServer) -> None:
    async with live_session(emulator, AUDIO_CONFIG) as (session, t):
        await session.send_realtime_input(text="tell me a joke")
        await t.wait_for(has_audio)
        await speak(session, "hello there")
        await t.wait_for(lambda t: turn_completes(t) >= 2)

    # The joke is cut short (no generationComplete), the greeting is answered in full.
    assert t.turn_ends() == [
        "interrupted",
        "turn_complete",
        "generation_complete",
        "turn_complete",
    ]
    first_turn_end = next(
        i for i, m in enumerate(t.messages) if m.server_content and m.server_content.interrupted
    )
    joke_audio = b"".join(m.data or b"" for m in t.messages[:first_turn_end])
    full_joke_s = 4.0  # the joke takes well over four seconds to say
    assert len(joke_audio) / 48_000 < full_joke_s
    assert "Hello! I am Ava" in t.output_text()
    assert "hello there" in t.input_text()


async def test_seeded_history_and_a_lone_space_give_one_reply(emulator: EmulatorServer) -> None:
    async with live_session(emulator, AUDIO_CONFIG) as (session, t):
        await session.send_client_content(
            turns=[
                types.Content(role="user", parts=[types.Part(text="Hi")]),
                types.Content(role="model", parts=[types.Part(text="Hello!")]),
                types.Content(role="user", parts=[types.Part(text="How are you today?")]),
            ],
            turn_complete=True,
        )
        await session.send_realtime_input(text=" ")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        # A second reply would start right away; a further text turn proves ordering.
        await session.send_realtime_input(text="goodbye")
        await t.wait_for(lambda t: turn_completes(t) >= 2)
    assert t.output_text() == (
        "I am doing well, thank you for asking. Goodbye! It was nice talking to you."
    )


async def test_unfinished_client_turn_is_answered_when_completed(emulator: EmulatorServer) -> None:
    async with live_session(emulator, AUDIO_CONFIG) as (session, t):
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="tell me a joke")]),
            turn_complete=False,
        )
        await session.send_client_content(turn_complete=True)
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    assert "scarecrow" in t.output_text()


async def test_what_do_you_see_describes_the_latest_frame(emulator: EmulatorServer) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (20, 40, 220)).save(buf, format="JPEG")
    async with live_session(emulator, AUDIO_CONFIG) as (session, t):
        await session.send_realtime_input(
            video=types.Blob(data=buf.getvalue(), mime_type="image/jpeg")
        )
        await session.send_realtime_input(text="What do you see?")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    text = t.output_text()
    assert "320 by 240" in text
    assert "blue" in text


async def test_audio_stream_end_flushes_the_utterance(emulator: EmulatorServer) -> None:
    from tests.support.live import stream_pcm
    from tests.support.speech import silence, synthesize_pcm16

    async with live_session(emulator, AUDIO_CONFIG) as (session, t):
        await stream_pcm(session, silence(200) + synthesize_pcm16("hello there"))
        await session.send_realtime_input(audio_stream_end=True)
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    assert t.input_text() == "hello there"


async def test_concurrent_sessions_do_not_mix(emulator: EmulatorServer) -> None:
    async def ask(question: str) -> str:
        async with live_session(emulator, AUDIO_CONFIG) as (session, t):
            await session.send_realtime_input(text=question)
            await t.wait_for(lambda t: turn_completes(t) >= 1)
        return t.output_text()

    name, joke = await asyncio.gather(ask("what is your name"), ask("tell me a joke"))
    assert name == "My name is Ava."
    assert "scarecrow" in joke


async def test_interrupting_a_pending_call_cancels_it(emulator: EmulatorServer) -> None:
    config = AUDIO_CONFIG.model_copy(
        update={"tools": [types.Tool(function_declarations=[WEATHER])]}
    )
    async with live_session(emulator, config) as (session, t):
        await session.send_realtime_input(text="What is the weather like in Rome?")
        await t.wait_for(lambda t: t.count(lambda m: m.tool_call is not None) >= 1)
        call_msg = next(m for m in t.messages if m.tool_call)
        assert call_msg.tool_call and call_msg.tool_call.function_calls
        call_id = call_msg.tool_call.function_calls[0].id
        await speak(session, "goodbye")
        await t.wait_for(lambda t: turn_completes(t) >= 2)
    cancellations = [m.tool_call_cancellation for m in t.messages if m.tool_call_cancellation]
    assert [c.ids for c in cancellations] == [[call_id]]
    assert t.count(lambda m: bool(m.server_content and m.server_content.interrupted)) == 1
    assert t.output_text() == "Goodbye! It was nice talking to you."
