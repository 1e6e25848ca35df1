"""Frames waiting for the browser: control overtakes audio, and audio can be dropped at once."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from liveavatar.errors import BrowserNotReading
from liveavatar.protocol import Error, ServerMessage, media_frame

CONTROL_LIMIT = 1_000
"""Control messages waiting for the browser before it counts as not reading (docs/API.md)."""
MEDIA_LIMIT_BYTES = 2 * 1024 * 1024
"""The native avatar's fMP4 waiting for the browser: about 16 s at Live's 1 Mbit/s."""
MEDIA_FRAME_BYTES = 256 * 1024
"""The most media chunks joined into one frame (a bigger chunk goes alone). A frame taken
from the outbox is out of its bound: with a page that stopped reading, one sits in the
socket's buffer and the next with the writer waiting for it, so joining everything
queued (up to MEDIA_LIMIT_BYTES each) let a session hold three times the bound."""


def is_init_segment(chunk: bytes) -> bool:
    """Whether an fMP4 chunk starts with the init segment (an `ftyp` box), without which
    the page can play nothing of the stream."""
    return chunk[4:8] == b"ftyp"


SEND_NOW = "liveavatar.send_now"
"""The ASGI extension under which a server offers its `DirectWriter` (`{"protocol": ...}`)."""


@runtime_checkable
class DirectWriter(Protocol):
    """A socket that can take a frame without a coroutine (`server/ws_reaping.py`)."""

    def writes_plain_frames(self) -> bool:
        """No extension was negotiated: for the connection's life, a data frame may go
        out as one plain frame whenever `can_send_now` says so."""
        ...

    def can_send_now(self) -> bool: ...
    def send_now(self, frame: str | bytes) -> None: ...


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

    The native avatar's fMP4 has a lane of its own, bounded by MEDIA_LIMIT_BYTES and
    drained the same way (the chunks waiting go as one media frame, of at most
    MEDIA_FRAME_BYTES: MSE takes concatenated fragments as one append). Over the bound
    the oldest chunks are dropped and counted, and a barge-in drops them all, except an
    init segment not yet sent.
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
        self._sent = asyncio.Event()  # nothing waiting, and the writer is back for more
        # Found at the writer's first wait and kept: `asyncio.get_running_loop()` is a
        # system call per call in CPython 3.11.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Future[None] | None = None  # the writer task, waiting in get()
        self._direct: DirectWriter | None = None
        self._flush_due = False
        self._broken: Exception | None = None  # a direct write failed: the writer raises it
        self.dropped_chunks = 0
        self._media: deque[bytes] = deque()
        self._media_bytes = 0
        self._media_limit = MEDIA_LIMIT_BYTES
        self.dropped_media_chunks = 0
        self.dropped_media_bytes = 0

    def put_control(self, message: ServerMessage) -> None:
        """Queue a control message.

        Raises:
            OutboxOverflow: CONTROL_LIMIT messages are already waiting for the browser.
        """
        if len(self._control) >= CONTROL_LIMIT:
            raise OutboxOverflow("The browser stopped reading its messages.")
        self._control.append(message.model_dump_json())
        self._queued()
        if self._on_error is not None and isinstance(message, Error):
            self._on_error(message.code)

    def put_audio(self, pcm: bytes) -> None:
        self._audio.append(pcm)
        self._audio_bytes += len(pcm)
        while self._audio_bytes > self._audio_limit and len(self._audio) > 1:
            self._audio_bytes -= len(self._audio.popleft())
            self.dropped_chunks += 1
        self._queued()

    def flush_audio(self) -> int:
        """Drop every queued audio chunk (barge-in); returns how many were dropped."""
        n = len(self._audio)
        self._audio.clear()
        self._audio_bytes = 0
        return n

    @property
    def queued_audio_bytes(self) -> int:
        return self._audio_bytes

    def put_media(self, chunk: bytes) -> None:
        """Queue a piece of the native avatar's fMP4 stream, as Live sent it."""
        self._media.append(chunk)
        self._media_bytes += len(chunk)
        if self._media_bytes > self._media_limit:
            self._drop_media(keep_newest=True)
        self._queued()

    def flush_media(self) -> int:
        """Drop the queued fMP4 (barge-in), except an init segment; returns how many."""
        return self._drop_media(keep_newest=False, count=False)

    @property
    def queued_media_bytes(self) -> int:
        return self._media_bytes

    def _drop_media(self, *, keep_newest: bool, count: bool = True) -> int:
        kept: deque[bytes] = deque()
        dropped = 0
        while self._media:
            over = self._media_bytes > self._media_limit
            if keep_newest and (not over or len(self._media) == 1):
                break
            chunk = self._media.popleft()
            if is_init_segment(chunk):
                kept.append(chunk)
                continue
            self._media_bytes -= len(chunk)
            dropped += 1
            if count:
                self.dropped_media_chunks += 1
                self.dropped_media_bytes += len(chunk)
        kept.extend(self._media)
        self._media = kept
        return dropped

    def write_directly(self, writer: DirectWriter) -> None:
        """From now on, frames queued while the writer task idles go to `writer` at once.

        Only for a socket that writes that way for good (no permessage-deflate): where it
        cannot, the writer task is woken only when the callback runs, after whatever the
        queuing task scheduled meanwhile (a session's end would cancel it unsent)."""
        self._direct = writer

    def _queued(self) -> None:
        self._sent.clear()
        idle = self._idle
        if idle is None or self._flush_due or idle.done():
            return  # the writer is busy (it looks again before it waits) or already told
        if self._direct is None:
            idle.set_result(None)
            return
        self._flush_due = True
        idle.get_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        idle, direct = self._idle, self._direct
        if idle is None or idle.done() or direct is None:
            return  # the writer task took over meanwhile (or is gone)
        while self._control or self._audio or self._media:
            if not direct.can_send_now():
                idle.set_result(None)  # the writer task sends it, waiting as it must
                return
            try:
                direct.send_now(self._next())
            except (OSError, RuntimeError) as exc:  # the socket broke under us
                self._broken = exc
                idle.set_result(None)
                return
        self._sent.set()

    def _next(self) -> str | bytes:
        """The next frame (see `get`); something must be queued."""
        if self._control:
            return self._control.popleft()
        if self._audio:
            pcm = self._audio.popleft() if len(self._audio) == 1 else b"".join(self._audio)
            self._audio.clear()
            self._audio_bytes = 0
            return pcm
        media = self._media
        taken = [media.popleft()]
        size = len(taken[0])
        while media and size + len(media[0]) <= MEDIA_FRAME_BYTES:
            size += len(media[0])
            taken.append(media.popleft())
        self._media_bytes -= size
        return media_frame(taken[0] if len(taken) == 1 else b"".join(taken))

    async def get(self) -> str | bytes:
        """The next frame to send: text for JSON control messages, bytes for audio (every
        chunk queued at this moment, in order, joined) or for media (likewise, framed, up to
        MEDIA_FRAME_BYTES).

        Raises:
            OSError, RuntimeError: a direct write (`write_directly`) failed.
        """
        while True:
            if self._broken is not None:
                raise self._broken
            if self._control or self._audio or self._media:
                return self._next()
            self._sent.set()
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            idle = self._idle = loop.create_future()
            try:
                await idle
            finally:
                self._idle = None

    async def sent(self) -> None:
        """Wait until every frame queued so far has been handed to the socket (the writer
        asked for the next one with none left)."""
        await self._sent.wait()
