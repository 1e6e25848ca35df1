"""One conversation with Live that outlives its connections.

Live connections last about ten minutes. On `goAway` the link opens the next connection
in the background with the latest resumption handle and switches at the next turn
boundary, replaying the last moments of microphone audio so nothing the user says is
lost. On an unexpected close (or a stalled connection, see `guard.py`) it reconnects with
backoff and the handle; on an instant refusal (bad key, unknown model, invalid setup) it
stops and says why.

A link whose connections ask for the native avatar (§14) has a `fallback`: when Live
refuses the avatar (at setup, or 1008 after `setupComplete` once it starts to animate,
`avatar.py`), the link says so (`AvatarFallback`) and goes on with audio connections from
the fallback's opener, for good, which first hear what is still unanswered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from liveavatar.errors import LiveRefused, LiveUnavailable

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
from .feed import Fed, Feed, Ready
from .held_input import HeldInput
from .recent_audio import RecentAudio
from .tools import ToolResponse

logger = logging.getLogger(__name__)

MAX_RECONNECTS = 6
BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
# No attempt starts later than this after the first: quick refusals still get all six
# attempts (7.75 s of backoff), while opens that each run into the open bound (a hung
# endpoint) give up after two or three, so nobody waits a minute for `live_unavailable`.
RETRY_WINDOW_S = 8.0

Opener = Callable[[str | None], Awaitable[LiveChannel]]


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
        """`fallback`: the opener of audio connections if Live refuses the avatar."""
        self._open = opener
        self._fallback = fallback
        self._notices: list[LinkEvent] = []
        self._name = name
        self._sleep = sleep
        self._clock = clock or asyncio.get_running_loop().time
        self._feed = Feed(name, self._accept)
        self._live: Fed | None = None
        self._handle: str | None = None
        self._in_turn = False
        # Text sent on the current connection and not answered yet: that connection holds
        # the question, so it is no boundary for rotation either.
        self._asked = False
        self._rotate_wanted = False
        self._rotation: asyncio.Task[None] | None = None
        self._next: LiveChannel | None = None
        self._recent = RecentAudio(keep_unanswered=fallback is not None)
        self._held = HeldInput()  # what the user sent while no connection was usable
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
        self._recent.remember(pcm)
        if self._live is not None:
            try:
                await self._live.conn.send_audio(pcm)
                self._recent.sent(pcm)
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
        self._recent.utterance_ended()
        if self._live is not None:
            try:
                await self._live.conn.audio_stream_end()
                self._recent.sent(None)
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
            return
        self._text_sent(text)

    def _text_sent(self, text: str) -> None:
        """`text` reached the current connection (sent now, or held and flushed): a
        question it holds until the model answers."""
        self._asked = True
        self._recent.asked(text)

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

    # ---- output ----------------------------------------------------------------------

    def deliver_to(self, handler: Callable[[LinkEvent], None]) -> None:
        """While `events()` waits with nothing queued, hand the current connection's
        events (a close aside) to `handler` at once, from the task that reads them,
        instead of waking the task iterating `events()`: the same events in the same
        order, one task wake-up fewer per Live message (docs/PERFORMANCE.md). `handler`
        must not wait; what it raises, `events()` raises."""
        self._feed.deliver_to(handler)

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Events of whichever connection is current, until a permanent failure.

        Raises:
            LiveRefused: Live refused the setup or credentials.
            LiveUnavailable: reconnecting failed MAX_RECONNECTS times, or for RETRY_WINDOW_S.
        """
        while True:
            while self._notices:
                yield self._notices.pop(0)
            item = await self._feed.get()
            if isinstance(item, Ready):
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
            self._asked = False
            self._recent.turn_ended()
        elif isinstance(event, Handle):
            self._handle = event.value
            if self._rotate_wanted and not self._busy:
                self._begin_rotation()
        elif isinstance(event, GoAway):
            logger.info("Live goAway", extra={"time_left_s": event.time_left_s})
            self._rotate_wanted = True
            if not self._busy:
                self._begin_rotation()

    @property
    def _busy(self) -> bool:
        """A turn is under way on the current connection: the model's, or a question it
        has not answered yet."""
        return self._in_turn or self._asked

    # ---- rotation --------------------------------------------------------------------

    def _begin_rotation(self) -> None:
        if self._rotation is not None and not self._rotation.done():
            return
        self._recent.start_replay()
        handle = self._handle
        self._rotation = asyncio.create_task(self._open_next(handle), name=f"{self._name}-rotate")

    async def _open_next(self, handle: str | None) -> None:
        try:
            conn = await self._open(handle)
        except LiveOpenError as exc:
            # The current connection still works until it closes; recovery takes over then.
            logger.warning("opening the next Live connection failed", extra=open_failure(exc))
            self._recent.drop_replay()
            return
        self._next = conn
        await self._feed.ready()

    async def _switch(self, conn: LiveChannel) -> Rotated | None:
        if self._busy:
            # A turn started meanwhile (the model's, or a question typed on the current
            # connection): the new connection's handle predates it.
            self._feed.retire(conn)
            self._recent.drop_replay()
            return None
        replay = self._recent.take_replay()
        old = self._live
        self._live = self._feed.attach(conn)
        self._rotate_wanted = False
        self.rotations += 1
        with contextlib.suppress(LiveSendError):
            for pcm in replay:
                await conn.send_audio(pcm)
        if old is not None:
            self._feed.detach(old)
        return Rotated(replayed_ms=sum(map(len, replay)) / 32)

    # ---- recovery --------------------------------------------------------------------

    async def _recover(self, closed: Closed) -> AsyncIterator[LinkEvent]:
        assert self._live is not None
        self._feed.detach(self._live)
        self._live = None
        self._asked = False  # a question unanswered went with the connection
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
            self._recent.drop_replay()
            self._live = self._feed.attach(conn)
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
            self._live = self._feed.attach(conn)
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
        await self._held.flush(self._live.conn, self._recent.sent, self._text_sent)

    def _fall_back(self, code: int, *, after_setup: bool) -> None:
        """From now on, audio connections: Live refused the native avatar."""
        assert self._fallback is not None
        logger.warning(
            "Live refused the native avatar; going on with audio and the drawn avatar",
            extra={"close_code": code, "after_setup_complete": after_setup},
        )
        self._open = self._fallback()
        self._fallback = None
        # The refused connection has no handle to resume (refused at setup: neither has
        # the one before it, which dropped): the audio connection hears again what the
        # model has not answered, before what waited for a connection.
        self._held.prepend(self._recent.take_unanswered())
        if self._rotation is not None and not self._rotation.done():
            self._rotation.cancel()  # it is opening another avatar connection
        if self._next is not None:
            self._feed.retire(self._next)
            self._next = None
        self._notices.append(AvatarFallback("refused"))

    # ---- connection bookkeeping ------------------------------------------------------

    def _accept(self, conn_id: int, event: LiveEvent) -> bool:
        """An event the feed may hand to the reader's handler at once: the current
        connection's, tracked here as `events()` would have."""
        if self._live is None or self._live.id != conn_id:
            return False
        self._track(event)
        return True

    async def close(self) -> None:
        """Close every connection; bounded by the connections' own close timeouts."""
        if self._rotation is not None:
            self._rotation.cancel()
            await asyncio.wait([self._rotation], timeout=5)
        if self._next is not None:
            self._feed.retire(self._next)
            self._next = None
        if self._live is not None:
            self._feed.detach(self._live)
            self._live = None
        await self._feed.closed()
