"""Drop a Live connection that stops answering: the application's rule for "stalled".

The transport keepalive (WebSocket pings, see `raw.py` and `build_client`) notices a far
end that stopped entirely, but only after up to twice its bound, and never a service whose
front end still answers pings while the session behind it is stuck. `StallGuard` adds the
rule below; a stalled connection ends with `Closed(stalled=True)`, and `LiveLink` then
drops it and reconnects with the resumption handle, as after any unexpected close.

**The rule.** After the backend sends something Live must answer, *something* (any
message at all) must arrive within `timeout_s`. What must be answered:

- typed text (`realtimeInput.text` that is not blank): the model replies;
- a tool response to a call this connection made and did not cancel, unless `SILENT`
  (which only adds to the context): the model goes on;
- microphone audio, or the end of the audio stream, while the user is speaking as far as
  Live has told us, i.e. after an input transcription and before the model's reply starts
  (its audio, transcript or a tool call) or the turn completes: end of speech triggers a
  reply.

Any message received answers everything sent before it; the bound starts at the earliest
send not yet answered. So a long reply (messages arrive all along), the quiet after a
reply, a tool running on our side, video frames and open-microphone silence never trigger
it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from .connection import LiveChannel, LiveOpenError
from .events import (
    AudioOut,
    Closed,
    InputText,
    LiveEvent,
    OutputText,
    ToolCall,
    ToolCancel,
    TurnComplete,
    VideoOut,
)
from .health import LiveHealth
from .link import Opener
from .tools import ToolResponse

logger = logging.getLogger(__name__)


class StallGuard:
    """A `LiveChannel` around another that ends with `Closed(stalled=True)` when Live
    leaves something unanswered for `timeout_s` (the rule in the module docstring).

    Like any channel, it is closed by its owner after `Closed`; `on_stall` is called once
    per stall, including a keepalive stall reported by the wrapped connection.
    """

    def __init__(
        self,
        conn: LiveChannel,
        *,
        timeout_s: float,
        on_stall: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self._timeout_s = timeout_s
        self._on_stall = on_stall
        self._loop = asyncio.get_running_loop()
        self._deadline: float | None = None
        # One timer for the bound, armed only while it runs (not a timeout per event):
        # when it fires while `events` waits, that task is cancelled and reports the stall.
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None
        self._waiting = False
        self._expired = False
        self._cancelling = 0
        self._user_speaking = False
        self._calls: set[str] = set()

    @property
    def awaiting_answer(self) -> bool:
        """Whether something sent is still unanswered (the stall bound is running)."""
        return self._deadline is not None

    # ---- sends -------------------------------------------------------------------------

    async def send_audio(self, pcm: bytes) -> None:
        if self._user_speaking:
            self._expect_answer()
        await self._conn.send_audio(pcm)

    async def audio_stream_end(self) -> None:
        if self._user_speaking:
            self._expect_answer()
        await self._conn.audio_stream_end()

    async def send_text(self, text: str) -> None:
        if text.strip():
            self._expect_answer()
        await self._conn.send_text(text)

    async def send_video(self, data: bytes, mime_type: str) -> None:
        await self._conn.send_video(data, mime_type)

    async def send_tool_responses(self, responses: list[ToolResponse]) -> None:
        # A SILENT answer only adds to the context: the model says nothing to it.
        answered = {r.id for r in responses if r.scheduling != "SILENT"} & self._calls
        self._calls -= {r.id for r in responses}
        if answered:
            self._expect_answer()
        await self._conn.send_tool_responses(responses)

    def _expect_answer(self) -> None:
        # Armed before the send itself: a send blocked by a peer that stopped reading
        # counts against the bound too.
        if self._deadline is not None:
            return
        self._deadline = self._loop.time() + self._timeout_s
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._expire)

    def _expire(self) -> None:
        self._timer = None
        task = self._task
        if self._waiting and task is not None and not self._expired:
            self._expired = True
            self._cancelling = task.cancelling()
            task.cancel()
        # Otherwise `events` is not waiting: it arms the bound again (already past, so it
        # fires at once) before it next waits, as a timeout entered late would.

    # ---- events ------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[LiveEvent]:
        inner = aiter(self._conn.events())
        task = self._task = asyncio.current_task()
        assert task is not None
        try:
            while True:
                if self._deadline is not None and self._timer is None:
                    self._timer = self._loop.call_at(self._deadline, self._expire)
                event: LiveEvent | None = None
                self._waiting = True
                try:
                    event = await anext(inner)
                except asyncio.CancelledError:
                    if not self._expired:
                        raise
                    self._expired = False
                    if task.uncancel() > self._cancelling:
                        raise  # cancelled by someone else as well
                except StopAsyncIteration:
                    return
                finally:
                    self._waiting = False
                self._expired = False  # an event won the race: no stall
                if event is None:
                    yield self._stalled()
                    return
                self._observe(event)
                if isinstance(event, Closed) and event.stalled:
                    self._report()
                yield event
                if isinstance(event, Closed):
                    return
        finally:
            self._task = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _observe(self, event: LiveEvent) -> None:
        self._deadline = None  # anything at all answers what was sent before it
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if isinstance(event, InputText):
            self._user_speaking = True
        elif isinstance(event, AudioOut | VideoOut | OutputText | TurnComplete):
            self._user_speaking = False
        elif isinstance(event, ToolCall):
            self._user_speaking = False
            self._calls.update(call.id for call in event.calls)
        elif isinstance(event, ToolCancel):
            self._calls.difference_update(event.ids)

    def _stalled(self) -> Closed:
        logger.warning(
            "Live left a message unanswered; dropping the connection",
            extra={"stall_timeout_s": self._timeout_s},
        )
        self._report()
        return Closed(1006, f"no answer from Live within {self._timeout_s:g} s", stalled=True)

    def _report(self) -> None:
        if self._on_stall is not None:
            self._on_stall()

    async def close(self) -> None:
        await self._conn.close()


def guarded(opener: Opener, *, stall_timeout_s: float, health: LiveHealth | None = None) -> Opener:
    """`opener` whose connections are `StallGuard`s; opens and stalls go to `health`."""

    def on_stall() -> None:
        if health is not None:
            health.stalled("connection")

    async def open_(handle: str | None) -> LiveChannel:
        try:
            conn = await opener(handle)
        except LiveOpenError as exc:
            if exc.stalled and health is not None:
                health.stalled("open")
            raise
        if health is not None:
            health.opened()
        return StallGuard(conn, timeout_s=stall_timeout_s, on_stall=on_stall)

    return open_
