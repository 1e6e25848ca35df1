"""What one session does with each event of its Live conversation: transcripts and turn
messages for the browser, barge-in, tool calls, resumption handles, per-turn metrics, and
every finished turn handed on for recording."""

from __future__ import annotations

import logging
from collections.abc import Callable

from liveavatar import protocol as p
from liveavatar.live.events import (
    AudioOut,
    Handle,
    InputText,
    Interrupted,
    LinkEvent,
    OutputText,
    Reconnected,
    Reconnecting,
    Rotated,
    ToolCall,
    ToolCancel,
    TurnComplete,
)
from liveavatar.server.metrics import Metrics

from .outbox import Outbox
from .tool_calls import ToolCalls
from .turns import FinishedTurn, TurnTracker

logger = logging.getLogger(__name__)


class LiveEvents:
    """Routes one session's Live events; never waits (the Live reader must keep up)."""

    def __init__(
        self,
        *,
        turns: TurnTracker,
        outbox: Outbox,
        tools: ToolCalls,
        metrics: Metrics,
        on_handle: Callable[[str, float], None],
        on_turn: Callable[[FinishedTurn], None],
    ) -> None:
        """`on_handle(handle, now)` keeps the newest resumption handle; `on_turn` gets each
        finished turn (to record it)."""
        self._turns = turns
        self._outbox = outbox
        self._tools = tools
        self._metrics = metrics
        self._on_handle = on_handle
        self._on_turn = on_turn

    def handle(self, event: LinkEvent, now: float) -> None:
        """Act on one event; `now` is the event loop's clock."""
        t = self._turns
        if isinstance(event, AudioOut):
            self._control(t.audio(now))
            self._outbox.put_audio(event.pcm)
        elif isinstance(event, InputText):
            self._control(t.user_fragment(event.text, now))
        elif isinstance(event, OutputText):
            self._control(t.model_fragment(event.text, now))
        elif isinstance(event, Interrupted):
            self._outbox.flush_audio()
            self._control(t.interrupt(now))
            self._tools.cancel()
        elif isinstance(event, TurnComplete):
            self._control(t.complete(event.usage, now))
            self._finished()
        elif isinstance(event, ToolCall):
            for call in event.calls:
                self._tools.start(call.id, call.name, call.args)
        elif isinstance(event, ToolCancel):
            self._tools.cancel(list(event.ids))
        elif isinstance(event, Handle):
            self._on_handle(event.value, now)
        elif isinstance(event, Reconnecting):
            self._metrics.live_reconnects.inc()
            if t.active:  # the dropped connection took this turn with it: close it here
                self._control(t.complete(None, now))
                self._finished()
            self._outbox.put_control(
                p.Error(code="live_reconnecting", message="Reconnecting to the voice service.")
            )
        elif isinstance(event, Rotated):
            self._metrics.live_rotations.inc()
            logger.info("Live connection rotated", extra={"replayed_ms": event.replayed_ms})
        elif isinstance(event, Reconnected):
            logger.info("Live connection restored", extra={"resumed": event.resumed})

    def cut_turn_in_progress(self, now: float) -> None:
        """The session is ending: a turn in which the user or the model said anything is
        finished here, marked interrupted, so it is recorded like any other."""
        t = self._turns
        if not t.active or not (t.user_text.strip() or t.model_text.strip()):
            return
        t.interrupt(now)
        t.complete(None, now)
        self._finished()

    def _finished(self) -> None:
        done = self._turns.last_finished
        if done is None:
            return
        self._on_turn(done)
        m = self._metrics
        m.turns.labels("interrupted" if done.interrupted else "complete").inc()
        if done.time_to_first_audio_ms is not None:
            m.ttfa.observe(done.time_to_first_audio_ms / 1000)
        if done.usage:
            m.tokens.labels("prompt").inc(done.usage.prompt_tokens)
            m.tokens.labels("response").inc(done.usage.response_tokens)

    def _control(self, messages: list[p.ServerMessage]) -> None:
        for message in messages:
            self._outbox.put_control(message)
