"""A scripted Live channel for unit tests: events pushed by the test, sends recorded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from liveavatar.live.events import Closed, LiveEvent
from liveavatar.live.tools import ToolResponse


class FakeChannel:
    """Implements `LiveChannel`; `push` an event to have it received."""

    def __init__(self, handle: str | None = None) -> None:
        self.handle = handle
        self.audio: list[bytes] = []
        self.texts: list[str] = []
        self.tool_responses: list[ToolResponse] = []
        self.stream_ends = 0
        self.closed = False
        self._queue: asyncio.Queue[LiveEvent] = asyncio.Queue()

    def push(self, *events: LiveEvent) -> None:
        for event in events:
            self._queue.put_nowait(event)

    async def send_audio(self, pcm: bytes) -> None:
        self.audio.append(pcm)

    async def audio_stream_end(self) -> None:
        self.stream_ends += 1

    async def send_text(self, text: str) -> None:
        self.texts.append(text)

    async def send_video(self, data: bytes, mime_type: str) -> None:
        return None

    async def send_tool_responses(self, responses: list[ToolResponse]) -> None:
        self.tool_responses += responses

    async def events(self) -> AsyncIterator[LiveEvent]:
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, Closed):
                return

    async def close(self) -> None:
        self.closed = True
