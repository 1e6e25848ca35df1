"""What the user sent while no Live connection was usable: microphone audio (bounded, the
newest kept), where the microphone went off, and typed text; sent in order to the next
connection once it is open (`link.py`)."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable

from .connection import LiveChannel, LiveSendError

REPLAY_MAX_BYTES = 320_000  # 10 s of 16 kHz PCM16
MAX_HELD_TEXT = 10


class HeldInput:
    def __init__(self) -> None:
        # Audio chunks in order; None where the microphone went off.
        self._audio: deque[bytes | None] = deque()
        self._bytes = 0
        self._text: list[str] = []

    def audio(self, pcm: bytes) -> None:
        self._audio.append(pcm)
        self._bytes += len(pcm)
        while self._bytes > REPLAY_MAX_BYTES:
            self._bytes -= len(self._audio.popleft() or b"")

    def stream_end(self) -> None:
        """The microphone went off: held audio, sent later, must end there too."""
        if self._audio and self._audio[-1] is not None:
            self._audio.append(None)

    def text(self, text: str) -> None:
        if len(self._text) < MAX_HELD_TEXT:
            self._text.append(text)

    def prepend(self, earlier: HeldInput) -> None:
        """`earlier`'s input goes first (the bounds still keep the newest audio)."""
        self._audio.extendleft(reversed(earlier._audio))
        self._bytes += earlier._bytes
        while self._bytes > REPLAY_MAX_BYTES:
            self._bytes -= len(self._audio.popleft() or b"")
        self._text[:0] = earlier._text[: MAX_HELD_TEXT - len(self._text)]

    async def flush(
        self,
        conn: LiveChannel,
        sent_audio: Callable[[bytes | None], None],
        sent_text: Callable[[str], None],
    ) -> None:
        """Send everything held to `conn`, in order, telling `sent_audio` (None where the
        microphone went off) and `sent_text` of each item that `conn` took; a dying `conn`
        ends the flush (its close starts the next recovery) and keeps the rest held."""
        with contextlib.suppress(LiveSendError):
            while self._audio:
                pcm = self._audio[0]
                if pcm is None:
                    await conn.audio_stream_end()
                else:
                    await conn.send_audio(pcm)
                    self._bytes -= len(pcm)
                self._audio.popleft()
                sent_audio(pcm)
            while self._text:
                await conn.send_text(self._text[0])
                sent_text(self._text.pop(0))
