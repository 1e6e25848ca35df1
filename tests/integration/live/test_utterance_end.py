"""The microphone going off ends a spoken utterance against the emulator, through both of
our Live channels, in each way `live/utterance.py` picks: `audioStreamEnd` (Gemini API),
trailing silence (Vertex), `activityStart`/`activityEnd` (manual activity detection).

The speech ends without a pause (espeak's trailing quiet cut off), so only the channel's
end of utterance can end it.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.tls import client_context
from liveavatar.live.connection import LiveChannel, LiveConnection
from liveavatar.live.endpoint import GEMINI_PATH, VERTEX_PATH, setup_body
from liveavatar.live.events import InputText, TurnComplete
from liveavatar.live.persona import Persona, VadSettings, connect_config
from liveavatar.live.picows_client import PicowsLiveConnection
from liveavatar.live.raw import Endpoint, RawLiveConnection
from tests.support.live import sdk_client
from tests.support.speech import chunks, silence, synthesize_pcm16, trim

Client = Literal["raw", "picows", "sdk"]
VERTEX_MODEL = "projects/demo-project/locations/us-central1/publishers/google/models/"


async def open_channel(
    emulator: EmulatorServer, client: Client, *, vertex: bool, persona: Persona
) -> LiveChannel:
    if client == "sdk":
        sdk = sdk_client(emulator, vertex=vertex)
        return await LiveConnection.open(sdk, persona.model, connect_config(persona, [], None))
    endpoint = Endpoint(
        url=emulator.ws_url + (VERTEX_PATH if vertex else GEMINI_PATH),
        headers={"Authorization": "Bearer t"} if vertex else {"x-goog-api-key": "k"},
        model=(VERTEX_MODEL if vertex else "models/") + persona.model,
        ssl=client_context(emulator.config.cert_dir),
        vertex=vertex,
    )
    own = PicowsLiveConnection if client == "picows" else RawLiveConnection
    return await own.open(endpoint, setup_body(persona, [], None))


@pytest.mark.parametrize("client", ["raw", "picows", "sdk"])
@pytest.mark.parametrize(
    ("vertex", "manual"),
    [(False, False), (True, False), (True, True)],
    ids=["gemini-audioStreamEnd", "vertex-silence", "vertex-manual-activity"],
)
async def test_mic_off_ends_the_utterance(
    emulator: EmulatorServer, client: Client, vertex: bool, manual: bool
) -> None:
    persona = Persona(vad=VadSettings(disabled=manual))
    conn = await open_channel(emulator, client, vertex=vertex, persona=persona)
    heard: list[str] = []
    try:
        for chunk in chunks(silence(200) + trim(synthesize_pcm16("hello there"))):
            await conn.send_audio(chunk)
        await conn.audio_stream_end()
        async with asyncio.timeout(30):
            async for event in conn.events():
                if isinstance(event, InputText):
                    heard.append(event.text)
                if isinstance(event, TurnComplete):
                    break
    finally:
        await conn.close()
    assert "".join(heard).strip()
