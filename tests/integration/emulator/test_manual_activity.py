"""Manual activity (`automaticActivityDetection.disabled`, reference §4.2, §6): the client
marks each utterance with `activityStart`/`activityEnd` and the emulator detects nothing
itself; `activityStart` over a reply interrupts it."""

from __future__ import annotations

from google.genai import types

from liveavatar.emulator.server import EmulatorServer
from tests.integration.emulator.test_sdk_conversation import AUDIO_CONFIG
from tests.support.live import live_session, stream_pcm, turn_completes
from tests.support.speech import silence, synthesize_pcm16

# The SDK conversation's setup (voice, transcriptions, persona) with detection off.
MANUAL = AUDIO_CONFIG.model_copy(
    update={
        "realtime_input_config": types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
        )
    }
)


async def test_speech_outside_an_activity_is_not_a_turn(emulator: EmulatorServer) -> None:
    async with live_session(emulator, MANUAL) as (session, t):
        # With automatic detection this would be a turn after its trailing silence.
        await stream_pcm(session, silence(200) + synthesize_pcm16("tell me a joke") + silence(800))
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await stream_pcm(session, silence(200) + synthesize_pcm16("good morning") + silence(200))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    assert t.input_text() == "good morning"
    assert t.output_text().startswith("Hello! I am Ava")


async def test_a_long_pause_inside_an_activity_does_not_end_the_turn(
    emulator: EmulatorServer,
) -> None:
    async with live_session(emulator, MANUAL) as (session, t):
        await session.send_realtime_input(activity_start=types.ActivityStart())
        # 1.2 s of silence mid-sentence: four times the automatic detector's window.
        pcm = (
            silence(200)
            + synthesize_pcm16("what is")
            + silence(1200)
            + synthesize_pcm16("your name")
        )
        await stream_pcm(session, pcm + silence(100))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    assert t.input_text() == "what is your name"
    assert t.output_text() == "My name is Ava."
    assert t.turn_ends() == ["generation_complete", "turn_complete"]


async def test_activity_start_over_a_reply_interrupts_it(emulator: EmulatorServer) -> None:
    async with live_session(emulator, MANUAL) as (session, t):
        await session.send_realtime_input(text="tell me a joke")
        await t.wait_for(lambda t: len(t.audio()) > 0)
        await session.send_realtime_input(activity_start=types.ActivityStart())
        await t.wait_for(lambda t: "interrupted" in t.turn_ends())
        await stream_pcm(session, silence(200) + synthesize_pcm16("good morning") + silence(200))
        await session.send_realtime_input(activity_end=types.ActivityEnd())
        await t.wait_for(lambda t: turn_completes(t) >= 2)
    assert t.turn_ends() == ["interrupted", "turn_complete", "generation_complete", "turn_complete"]
    assert t.input_text() == "good morning"
