"""One conversation with Live that outlives its connections.

Live connections last about ten minutes. On `goAway` the link opens the next connection
in the background with the latest resumption handle and switches at the next turn
boundary, replaying the last moments of microphone audio so nothing the user says is
lost. On an unexpected close (or a stalled connection, see `guard.py`) it reconnects with
backoff and the handle; on an instant refusal (bad key, unknown model, invalid setup) it
stops and says why.

A link whose connections ask for the native avatar (§14) has a `fallback`: when Live
refuses the avatar (a close at setup, or 1008 after `setupComplete` once it starts to
animate, `avatar.py`), the link says so (`AvatarFallback`) and goes on with audio
connections from the fallback's opener, for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from liveavatar.errors import LiveRefused, LiveUnavailable
from liveavatar.mailbox import Mailbox

from .avatar import REFUSED_AT_SETUP, REFUSED_LATER
from .causes import open_failure
from .connection import LiveChannel, LiveOpenError, LiveSendError
from .events import (
    AudioOut,
    AvatarFallback,
    Closed,
    GoAway,
    Handle,
    Interrupted,
    LinkEvent,
    LiveEvent,
    OutputText,
    Reconnected,
    Reconnecting,
    Rotated,
    ToolCall,
    TurnComplete,
    VideoOut,
)
from .held_input import REPLAY_MAX_BYTES, HeldInput
from .tools import ToolResponse

logger = logging.getLogger(__name__)

PREROLL_BYTES = 32_000  # 1 s of 16 kHz PCM16 kept for replay into the next connection
EVENT_QUEUE = 256
MAX_RECONNECTS = 6
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
# No attempt starts later than this after the first: quick refusals still get all six
# attempts (7.75 s of backoff), while opens that each run into the open bound (a hung
# endpoint) give up after two or three, so nobody waits a minute for `live_unavailable`.
RETRY_WINDOW_S = 8.0

Opener = Callable[[str | None], Awaitable[LiveChannel]]


@dataclass
class _Live:
    id: int
    conn: LiveChannel
    pump: asyncio.Task[None]


@dataclass(frozen=True)
class _Ready:
    """The background rotation finished opening the next connection (in `_next`)."""


@dataclass(slots=True)
class _Event:
    conn_id: int
    event: LiveEvent


class LiveLink:
    """The bridge's single, stable view of Live across rotations and reconnects.

    Call `start()`, then iterate `events()` in one task while other tasks call the
    `send_*` methods. `close()` is idempotent and bounded.
    """

    def __init__(
        self,
        opener: Opener,
        *,
        name: str,
        fallback: Callable[[], Opener] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """`fallback`: `opener` asks for the native avatar, and this gives the opener of
        audio connections to go on with if Live refuses it (called once, then)."""
        self._open = opener
        self._fallback = fallback
        self._notices: list[LinkEvent] = []
        self._name = name
        self._sleep = sleep
        self._clock = clock or asyncio.get_running_loop().time
        self._ids = itertools.count(1)
        # One hand-over per Live message: a Mailbox, lighter than asyncio.Queue.
        self._queue: Mailbox[_Event | _Ready] = Mailbox(EVENT_QUEUE)
        self._live: _Live | None = None
        self._handle: str | None = None
        self._in_turn = False
        self._rotate_wanted = False
        self._rotation: asyncio.Task[None] | None = None
        self._next: LiveChannel | None = None
        self._preroll: deque[bytes] = deque()
        self._preroll_bytes = 0
        self._replay: list[bytes] | None = None  # recording while the next connection opens
        self._held = HeldInput()  # what the user sent while no connection was usable
        self._closing: set[asyncio.Task[None]] = set()
        self.reconnects = 0
        self.rotations = 0

    @property
    def handle(self) -> str | None:
        return self._handle

    @property
    def native(self) -> bool:
        """Whether the connections still ask for the native avatar (no fallback yet)."""
        return self._fallback is not None

    async def start(self, handle: str | None = None) -> None:
        """Open the first connection (resuming `handle` if given)."""
        self._handle = handle
        await self._connect_with_retries(first=True)

    # ---- input -----------------------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        self._remember(pcm)
        if self._live is not None:
            try:
                await self._live.conn.send_audio(pcm)
                return
            except LiveSendError:
                pass  # the connection is going; its close event starts recovery
        self._held.audio(pcm)

    async def audio_stream_end(self) -> None:
        """The microphone went off (`utterance.py`). Held in order with held audio while no
        connection is usable: that audio, sent after reconnecting, must end too.

        What was said before is no longer replayed into a next connection: it ended on
        this one (replayed, it would be a second utterance, or with manual activity an
        activity that never ends)."""
        self._preroll.clear()
        self._preroll_bytes = 0
        if self._replay is not None:
            self._replay = []
        if self._live is not None:
            try:
                await self._live.conn.audio_stream_end()
                return
            except LiveSendError:
                pass
        self._held.stream_end()

    async def send_text(self, text: str) -> None:
        if self._live is None:
            self._held.text(text)
            return
        try:
            await self._live.conn.send_text(text)
        except LiveSendError:
            self._held.text(text)

    async def send_video(self, data: bytes, mime_type: str) -> None:
        # Frames are only useful fresh: one lost during a reconnect is replaced within a second.
        await self._send_or_drop(lambda c: c.send_video(data, mime_type))

    async def send_tool_responses(self, responses: list[ToolResponse]) -> None:
        # A response the old connection cannot take is moot: its call died with the turn.
        await self._send_or_drop(lambda c: c.send_tool_responses(responses))

    async def _send_or_drop(self, send: Callable[[LiveChannel], Awaitable[None]]) -> None:
        if self._live is None:
            return
        with contextlib.suppress(LiveSendError):
            await send(self._live.conn)

    def _remember(self, pcm: bytes) -> None:
        self._preroll.append(pcm)
        self._preroll_bytes += len(pcm)
        while self._preroll_bytes > PREROLL_BYTES and len(self._preroll) > 1:
            self._preroll_bytes -= len(self._preroll.popleft())
        if self._replay is not None and sum(map(len, self._replay)) < REPLAY_MAX_BYTES:
            self._replay.append(pcm)

    # ---- output ----------------------------------------------------------------------

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Events of whichever connection is current, until a permanent failure.

        Raises:
            LiveRefused: Live refused the setup or credentials.
            LiveUnavailable: reconnecting failed MAX_RECONNECTS times, or for RETRY_WINDOW_S.
        """
        while True:
            while self._notices:
                yield self._notices.pop(0)
            item = await self._queue.get()
            if isinstance(item, _Ready):
                conn, self._next = self._next, None
                if conn is not None:
                    switched = await self._switch(conn)
                    if switched is not None:
                        yield switched
                continue
            if self._live is None or item.conn_id != self._live.id:
                continue  # a connection we already left
            event = item.event
            self._track(event)
            if isinstance(event, Closed):
                if self._fallback is not None and event.code in REFUSED_LATER:
                    self._fall_back(event.code, after_setup=True)
                async for e in self._recover(event):
                    yield e
                continue
            yield event

    def _track(self, event: LiveEvent) -> None:
        if isinstance(event, AudioOut | VideoOut | OutputText | ToolCall):
            self._in_turn = True
        elif isinstance(event, Interrupted) or (isinstance(event, TurnComplete) and event.final):
            # A turn complete `IN_PROGRESS` is no boundary: the answer goes on (§13.2).
            self._in_turn = False
        elif isinstance(event, Handle):
            self._handle = event.value
            if self._rotate_wanted and not self._in_turn:
                self._begin_rotation()
        elif isinstance(event, GoAway):
            logger.info("Live goAway", extra={"time_left_s": event.time_left_s})
            self._rotate_wanted = True
            if not self._in_turn:
                self._begin_rotation()

    # ---- rotation --------------------------------------------------------------------

    def _begin_rotation(self) -> None:
        if self._rotation is not None and not self._rotation.done():
            return
        self._replay = list(self._preroll)
        handle = self._handle
        self._rotation = asyncio.create_task(self._open_next(handle), name=f"{self._name}-rotate")

    async def _open_next(self, handle: str | None) -> None:
        try:
            conn = await self._open(handle)
        except LiveOpenError as exc:
            # The current connection still works until it closes; recovery takes over then.
            logger.warning("opening the next Live connection failed", extra=open_failure(exc))
            self._replay = None
            return
        self._next = conn
        await self._queue.put(_Ready())

    async def _switch(self, conn: LiveChannel) -> Rotated | None:
        if self._in_turn:
            # The model started a turn meanwhile: the new connection's handle predates it.
            self._retire(conn)
            self._replay = None
            return None
        replay = self._replay or []
        self._replay = None
        old = self._live
        self._live = self._attach(conn)
        self._rotate_wanted = False
        self.rotations += 1
        with contextlib.suppress(LiveSendError):
            for pcm in replay:
                await conn.send_audio(pcm)
        if old is not None:
            self._detach(old)
        return Rotated(replayed_ms=sum(map(len, replay)) / 32)

    # ---- recovery --------------------------------------------------------------------

    async def _recover(self, closed: Closed) -> AsyncIterator[LinkEvent]:
        assert self._live is not None
        self._detach(self._live)
        self._live = None
        if self._in_turn:
            self._in_turn = False
            yield Interrupted()  # the reply in progress is gone; flush what was queued of it
        if self._notices:  # falling back: no reconnect to announce, the page is told this
            while self._notices:
                yield self._notices.pop(0)
            await self._connect_with_retries(first=False, cause=closed)
            return
        if self._rotation is not None and not self._rotation.done():
            # The next connection is already opening: let it finish instead of a second one.
            await asyncio.wait([self._rotation])
        if self._next is not None:
            conn, self._next = self._next, None
            self._replay = None
            self._live = self._attach(conn)
            self._rotate_wanted = False
            self.rotations += 1
            await self._flush_held()
            yield Rotated(replayed_ms=0.0)
            return
        self._rotate_wanted = False
        yield Reconnecting(attempt=1, code=closed.code)
        resumed = await self._connect_with_retries(first=False, cause=closed)
        yield Reconnected(resumed=resumed)

    async def _connect_with_retries(self, *, first: bool, cause: Closed | None = None) -> bool:
        last: LiveOpenError | None = None
        began: float | None = None
        for attempt in range(MAX_RECONNECTS):
            if attempt or not first:
                delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                if began is not None and self._clock() + delay - began > RETRY_WINDOW_S:
                    break
                await self._sleep(delay)
            if began is None:
                began = self._clock()
            try:
                conn = await self._open(self._handle)
            except LiveOpenError as exc:
                last = exc
                # Every failed open, with its cause (never a secret: `causes.py`).
                logger.warning(
                    "Live connection attempt failed",
                    extra={"attempt": attempt + 1, **open_failure(exc)},
                )
                if self._fallback is not None and exc.code in REFUSED_AT_SETUP:
                    self._fall_back(exc.code, after_setup=False)
                    continue
                if exc.permanent and self._handle is not None and exc.code == 1008:
                    # An expired or unknown handle: continue as a new conversation.
                    logger.warning("resumption handle refused; starting afresh")
                    self._handle = None
                    continue
                if exc.permanent:
                    raise LiveRefused(str(exc)) from exc
                continue
            resumed = self._handle is not None
            self._live = self._attach(conn)
            if not first:
                self.reconnects += 1
                logger.info(
                    "Live reconnected",
                    extra={
                        "resumed": resumed,
                        "cause_code": cause.code if cause else None,
                        "cause_stalled": cause.stalled if cause else False,
                    },
                )
            await self._flush_held()
            return resumed
        raise LiveUnavailable("The voice service is unreachable.") from last

    async def _flush_held(self) -> None:
        assert self._live is not None
        await self._held.flush(self._live.conn)

    def _fall_back(self, code: int, *, after_setup: bool) -> None:
        """From now on, audio connections: Live refused the native avatar."""
        assert self._fallback is not None
        logger.warning(
            "Live refused the native avatar; going on with audio and the drawn avatar",
            extra={"close_code": code, "after_setup_complete": after_setup},
        )
        self._open = self._fallback()
        self._fallback = None
        if self._rotation is not None and not self._rotation.done():
            self._rotation.cancel()  # it is opening another avatar connection
        if self._next is not None:
            self._retire(self._next)
            self._next = None
        self._notices.append(AvatarFallback("refused"))

    # ---- connection bookkeeping ------------------------------------------------------

    def _attach(self, conn: LiveChannel) -> _Live:
        conn_id = next(self._ids)

        async def pump() -> None:
            # Supervised: whatever ends this stream, the link hears of it as a close and
            # reconnects; a message we fail to translate must never leave it waiting.
            try:
                async for event in conn.events():
                    await self._queue.put(_Event(conn_id, event))
                    if isinstance(event, Closed):
                        return
                reason = "the event stream ended without a close"
            except Exception as exc:
                logger.exception("Live events failed; dropping the connection")
                reason = f"events failed: {type(exc).__name__}"
            await self._queue.put(_Event(conn_id, Closed(1006, reason)))

        task = asyncio.create_task(pump(), name=f"{self._name}-live-{conn_id}")
        return _Live(conn_id, conn, task)

    def _detach(self, live: _Live) -> None:
        live.pump.cancel()
        self._retire(live.conn)

    def _retire(self, conn: LiveChannel) -> None:
        task = asyncio.create_task(conn.close(), name=f"{self._name}-close")
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close every connection; bounded by the connections' own close timeouts."""
        if self._rotation is not None:
            self._rotation.cancel()
            await asyncio.wait([self._rotation], timeout=5)
        if self._next is not None:
            self._retire(self._next)
            self._next = None
        if self._live is not None:
            self._detach(self._live)
            self._live = None
        if self._closing:
            await asyncio.wait(self._closing, timeout=5)
