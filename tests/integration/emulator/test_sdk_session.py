"""Connection-level behaviour through the SDK: resumption, goAway and injected faults."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import errors, types

from liveavatar.emulator.config import FaultConfig
from liveavatar.emulator.server import EmulatorServer
from tests.integration.conftest import StartEmulator
from tests.support.live import MODEL, Transcript, reading, sdk_client, turn_completes

RESUMABLE = types.LiveConnectConfig(
    response_modalities=[types.Modality.AUDIO],
    output_audio_transcription=types.AudioTranscriptionConfig(),
    system_instruction="You are Nova.",
    session_resumption=types.SessionResumptionConfig(),
)


def latest_handle(t: Transcript) -> str | None:
    handles = [
        m.session_resumption_update.new_handle
        for m in t.messages
        if m.session_resumption_update
        and m.session_resumption_update.resumable
        and m.session_resumption_update.new_handle
    ]
    return handles[-1] if handles else None


async def test_resumption_continues_the_conversation(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    async with (
        client.aio.live.connect(model=MODEL, config=RESUMABLE) as session,
        reading(session) as t,
    ):
        await session.send_realtime_input(text="my favourite colour is green")
        await t.wait_for(lambda t: turn_completes(t) >= 1)
        await t.wait_for(lambda t: t.messages[-1].session_resumption_update is not None)
        handle = latest_handle(t)
        # Mid-turn updates carry no handle and say so.
        assert any(
            m.session_resumption_update and m.session_resumption_update.resumable is not True
            for m in t.messages
        )
    assert handle

    resume = RESUMABLE.model_copy(
        update={
            "system_instruction": None,
            "session_resumption": types.SessionResumptionConfig(handle=handle),
        }
    )
    async with (
        client.aio.live.connect(model=MODEL, config=resume) as session,
        reading(session) as t2,
    ):
        await session.send_realtime_input(text="what did I say")
        await t2.wait_for(lambda t: turn_completes(t) >= 1)
        await session.send_realtime_input(text="what is your name")
        await t2.wait_for(lambda t: turn_completes(t) >= 2)
    assert t2.output_text() == "Earlier you said: my favourite colour is green. My name is Nova."


async def test_unknown_resumption_handle_is_refused(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    config = RESUMABLE.model_copy(
        update={"session_resumption": types.SessionResumptionConfig(handle="la-not-a-handle")}
    )
    with pytest.raises(errors.APIError) as info:
        async with client.aio.live.connect(model=MODEL, config=config):
            pass
    assert info.value.code == 1008


async def test_go_away_then_close_at_end_of_lifetime(start_emulator: StartEmulator) -> None:
    server = await start_emulator(connection_lifetime_s=2.0, goaway_notice_s=1.0)
    client = sdk_client(server)
    async with (
        client.aio.live.connect(model=MODEL, config=RESUMABLE) as session,
        reading(session) as t,
    ):
        await t.wait_for(lambda t: t.error is not None)
    go_aways = [m.go_away for m in t.messages if m.go_away]
    assert [g.time_left for g in go_aways] == ["1s"]
    assert isinstance(t.error, errors.APIError)
    assert t.error.code == 1000


async def test_fault_close_mid_turn(start_emulator: StartEmulator) -> None:
    server = await start_emulator(faults=FaultConfig(close_after_s=0.0))
    client = sdk_client(server)
    async with (
        client.aio.live.connect(model=MODEL, config=RESUMABLE) as session,
        reading(session) as t,
    ):
        await session.send_realtime_input(text="tell me a joke")
        await t.wait_for(lambda t: t.error is not None)
    assert isinstance(t.error, errors.APIError)
    assert t.error.code == 1011
    assert t.error.details == "Internal error occurred."
    assert len(t.audio()) > 0  # the close came mid-turn, after audio started
    assert turn_completes(t) == 0


async def test_fault_first_audio_delay(start_emulator: StartEmulator) -> None:
    server = await start_emulator(faults=FaultConfig(first_audio_delay_ms=800))
    client = sdk_client(server)
    loop = asyncio.get_running_loop()
    async with (
        client.aio.live.connect(model=MODEL, config=RESUMABLE) as session,
        reading(session) as t,
    ):
        await session.send_realtime_input(text="hello")
        await t.wait_for(lambda t: t.output_text() != "")
        spoke = loop.time()
        await t.wait_for(lambda t: len(t.audio()) > 0)
        first_audio = loop.time()
        await t.wait_for(lambda t: turn_completes(t) >= 1)
    # A lower bound only: the injected delay guarantees at least this much.
    assert first_audio - spoke >= 0.7


@pytest.mark.parametrize("code", [1007, 1008])
async def test_fault_refuse_setup(start_emulator: StartEmulator, code: int) -> None:
    server = await start_emulator(faults=FaultConfig(refuse_setup=code))  # type: ignore[arg-type]
    client = sdk_client(server)
    with pytest.raises(errors.APIError) as info:
        async with client.aio.live.connect(model=MODEL, config=RESUMABLE):
            pass
    assert info.value.code == code


async def test_unknown_model_is_not_found(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    with pytest.raises(errors.APIError) as info:
        async with client.aio.live.connect(model="gemini-0.1-nonexistent", config=RESUMABLE):
            pass
    assert info.value.code == 1008
    assert "models/gemini-0.1-nonexistent is not found" in (info.value.details or "")


async def test_unknown_voice_is_an_invalid_argument(emulator: EmulatorServer) -> None:
    client = sdk_client(emulator)
    config = RESUMABLE.model_copy(
        update={
            "speech_config": types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Nobody")
                )
            )
        }
    )
    with pytest.raises(errors.APIError) as info:
        async with client.aio.live.connect(model=MODEL, config=config):
            pass
    assert info.value.code == 1007
