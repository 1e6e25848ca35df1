"""Frames waiting for the browser: control overtakes audio, and audio can be dropped at once."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from liveavatar.errors import BrowserNotReading
from liveavatar.protocol import Error, ServerMessage

CONTROL_LIMIT = 1_000
"""Control messages waiting for the browser before it counts as not reading (docs/API.md)."""


class OutboxOverflow(BrowserNotReading):
    """The browser stopped reading: even small control messages piled up.

    A client fault with its own browser error (`bad_request`, close 4400), so the session
    ends cleanly instead of as an internal error.
    """


class Outbox:
    """Two bounded lanes drained by one writer task.

    Control messages (transcripts, `interrupted`, errors) always go first, so a barge-in
    notice never waits behind seconds of audio. Audio is bounded by bytes; when the
    browser reads too slowly the oldest audio is dropped (and counted) rather than
    stalling the Live reader, which must keep handling control events.

    Audio chunks already waiting when the writer asks are sent as one frame: nothing is
    held back to wait for more, but under load each WebSocket and TLS write carries
    several chunks instead of one (docs/PERFORMANCE.md).
    """

    def __init__(
        self,
        audio_limit_bytes: int = 24_000 * 2 * 10,
        *,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """`on_error(code)` hears of each `error` message queued (the day's counters)."""
        self._on_error = on_error
        self._control: deque[str] = deque()
        self._audio: deque[bytes] = deque()
        self._audio_bytes = 0
        self._audio_limit = audio_limit_bytes
        self._ready = asyncio.Event()
        self._sent = asyncio.Event()  # nothing waiting, and the writer is back for more
        self.dropped_chunks = 0

    def put_control(self, message: ServerMessage) -> None:
        """Queue a control message.

        Raises:
            OutboxOverflow: CONTROL_LIMIT messages are already waiting for the browser.
        """
        if len(self._control) >= CONTROL_LIMIT:
            raise OutboxOverflow("The browser stopped reading its messages.")
        self._control.append(message.model_dump_json())
        self._ready.set()
        self._sent.clear()
        if self._on_error is not None and isinstance(message, Error):
            self._on_error(message.code)

    def put_audio(self, pcm: bytes) -> None:
        self._audio.append(pcm)
        self._audio_bytes += len(pcm)
        while self._audio_bytes > self._audio_limit and len(self._audio) > 1:
            self._audio_bytes -= len(self._audio.popleft())
            self.dropped_chunks += 1
        self._ready.set()
        self._sent.clear()

    def flush_audio(self) -> int:
        """Drop every queued audio chunk (barge-in); returns how many were dropped."""
        n = len(self._audio)
        self._audio.clear()
        self._audio_bytes = 0
        return n

    @property
    def queued_audio_bytes(self) -> int:
        return self._audio_bytes

    async def get(self) -> str | bytes:
        """The next frame to send: text for JSON control messages, bytes for audio (every
        chunk queued at this moment, in order, joined)."""
        while True:
            if self._control:
                return self._control.popleft()
            if self._audio:
                pcm = self._audio.popleft() if len(self._audio) == 1 else b"".join(self._audio)
                self._audio.clear()
                self._audio_bytes = 0
                return pcm
            self._ready.clear()
            self._sent.set()
            await self._ready.wait()

    async def sent(self) -> None:
        """Wait until every frame queued so far has been handed to the socket (the writer
        asked for the next one with none left)."""
        await self._sent.wait()
