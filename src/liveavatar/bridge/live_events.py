"""What one session does with each event of its Live conversation: transcripts and turn
messages for the browser, barge-in, tool calls, resumption handles, per-turn metrics, and
every finished turn handed on for recording.

A grounded answer's sources (`Grounding`, alone or beside its audio) are gathered on the
turn in progress and go out, to the page and the store, when the turn ends.

Token usage (`Usage`) may come anywhere in the stream (reference §3, §13.5). It belongs to
the turn in progress (the latest report of a turn wins: a cumulative snapshot is counted
once), and is on that turn when `TurnComplete` comes. A turn that completes without its
usage is held back from the recorder until the usage arrives (then the page gets that
turn's `metrics` again, now with tokens) or until the next turn begins or the session ends,
whichever comes first; the usage then counts for the next turn.

The extended-thinking model completes turns `IN_PROGRESS` while it still works on the
answer (reference §13.2): the conversation's turn ends only at a final `TurnComplete`
(`IDLE`), and the usage of each part before it is added up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields

from liveavatar import protocol as p
from liveavatar.live.events import (
    AudioOut,
    AvatarFallback,
    Grounding,
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
    Usage,
    VideoOut,
)
from liveavatar.metrics import Metrics
from liveavatar.store.day_totals import COUNTER_LIVE_RECONNECT, COUNTER_LIVE_ROTATION

from .native_avatar import fallback_notice
from .outbox import Outbox
from .tool_calls import ToolCalls
from .turns import FinishedTurn, TurnTracker, turn_metrics

logger = logging.getLogger(__name__)

# Events that belong to a new turn: a finished turn still waiting for its usage is
# recorded without it first.
_NEXT_TURN = (
    AudioOut,
    VideoOut,
    InputText,
    OutputText,
    Grounding,
    Interrupted,
    TurnComplete,
    ToolCall,
    Reconnecting,
)


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
        count: Callable[[str], None] = lambda name: None,
        on_played: Callable[[int, int, float | None], None] = lambda turn, words, av: None,
    ) -> None:
        """`on_handle(handle, now)` keeps the newest resumption handle; `on_turn` gets each
        finished turn (to record it); `count` each reconnect and rotation (the day's
        counters); `on_played(turn, words, av_offset_ms)` the page's report on a turn already
        recorded."""
        self._turns = turns
        self._on_played = on_played
        self._outbox = outbox
        self._tools = tools
        self._metrics = metrics
        self._on_handle = on_handle
        self._on_turn = on_turn
        self._count = count
        self._usage: Usage | None = None  # the turn in progress's latest report
        self._banked: Usage | None = None  # its parts before an `IN_PROGRESS`, added up
        self._unrecorded: FinishedTurn | None = None  # finished, its usage not yet seen

    def handle(self, event: LinkEvent, now: float) -> None:
        """Act on one event; `now` is the event loop's clock."""
        t = self._turns
        if self._unrecorded is not None and isinstance(event, _NEXT_TURN):
            self._record(self._unrecorded)
        if isinstance(event, AudioOut):
            self._control(t.audio(now))
            self._outbox.put_audio(event.pcm)
        elif isinstance(event, VideoOut):
            self._control(t.audio(now))  # the voice is in it: the same turn timings
            self._outbox.put_media(event.data)
        elif isinstance(event, InputText):
            self._control(t.user_fragment(event.text, now))
        elif isinstance(event, OutputText):
            self._control(t.model_fragment(event.text, now))
        elif isinstance(event, Interrupted):
            self._outbox.flush_audio()
            self._outbox.flush_media()
            self._control(t.interrupt(now))
            self._tools.interrupted()
        elif isinstance(event, Grounding):
            t.grounding(event)  # held until the turn ends, then sent and recorded with it
        elif isinstance(event, Usage):
            self._usage_arrived(event)
        elif isinstance(event, TurnComplete) and not event.final:
            # `IN_PROGRESS` (the extended-thinking model, §13.2): the answer goes on, so
            # the turn does; what it used so far counts with what follows.
            self._banked = self._take_usage()
        elif isinstance(event, TurnComplete):
            usage = self._take_usage()
            self._control(t.complete(usage, now))
            if usage is None:
                self._unrecorded = t.last_finished  # its usage may follow
            else:
                self._finished()
        elif isinstance(event, ToolCall):
            for call in event.calls:
                self._tools.start(call.id, call.name, call.args, non_blocking=call.non_blocking)
        elif isinstance(event, ToolCancel):
            self._tools.cancel(list(event.ids))
        elif isinstance(event, Handle):
            self._on_handle(event.value, now)
        elif isinstance(event, Reconnecting):
            self._metrics.live_reconnects.inc()
            if t.active:  # the dropped connection took this turn with it: close it here
                self._control(t.complete(self._take_usage(), now))
                self._finished()
            self._outbox.put_control(
                p.Error(code="live_reconnecting", message="Reconnecting to the voice service.")
            )
        elif isinstance(event, AvatarFallback):
            self._metrics.avatar_fallbacks.labels(event.reason).inc()
            if t.active:  # the refused connection took this turn with it
                self._control(t.complete(self._take_usage(), now))
                self._finished()
            self._outbox.put_control(fallback_notice(event.reason))
        elif isinstance(event, Rotated):
            self._metrics.live_rotations.inc()
            self._count(COUNTER_LIVE_ROTATION)
            logger.info("Live connection rotated", extra={"replayed_ms": event.replayed_ms})
        elif isinstance(event, Reconnected):
            self._count(COUNTER_LIVE_RECONNECT)  # lost and opened again: one reconnect
            logger.info("Live connection restored", extra={"resumed": event.resumed})

    def played(self, turn: int, words: int, av_offset_ms: float | None) -> None:
        """The page says how much of `turn`'s answer was heard: kept on the turn in
        progress, on a finished turn not yet recorded, or added to the recorded one."""
        if self._turns.played(turn, words, av_offset_ms):
            return
        done = self._unrecorded
        if done is not None and done.turn == turn:
            done.hear(words, av_offset_ms)
            return
        self._on_played(turn, words, av_offset_ms)

    def cut_turn_in_progress(self, now: float) -> None:
        """The session is ending: a turn in which the user or the model said anything is
        finished here, marked interrupted, so it is recorded like any other (after a
        finished turn still waiting for its usage)."""
        if self._unrecorded is not None:
            self._record(self._unrecorded)
        t = self._turns
        if not t.active or not (t.user_text.strip() or t.model_text.strip()):
            return
        t.interrupt(now)
        t.complete(self._take_usage(), now)
        self._finished()

    def _take_usage(self) -> Usage | None:
        """The turn in progress's usage (its parts before an `IN_PROGRESS` added up), now
        handed over."""
        banked, latest = self._banked, self._usage
        self._banked = self._usage = None
        if banked is None or latest is None:
            return banked or latest
        return Usage(
            **{f.name: getattr(banked, f.name) + getattr(latest, f.name) for f in fields(Usage)}
        )

    def _usage_arrived(self, usage: Usage) -> None:
        done = self._unrecorded
        if done is None:
            self._usage = usage
            return
        # After its turn's turnComplete and before anything of the next turn: that turn's.
        done.usage = usage
        done.cost_usd = self._turns.price(usage)
        self._outbox.put_control(turn_metrics(done))
        self._record(done)

    def _finished(self) -> None:
        done = self._turns.last_finished
        if done is not None:
            self._record(done)

    def _record(self, done: FinishedTurn) -> None:
        if done is self._unrecorded:
            self._unrecorded = None
        self._on_turn(done)
        m = self._metrics
        m.turns.labels("interrupted" if done.interrupted else "complete").inc()
        # One line per turn: Cloud Monitoring's log-based TTFA distribution reads it
        # (deploy/monitoring/metrics/liveavatar_ttfa_ms.json); /metrics is per instance.
        facts: dict[str, object] = {"turn": done.turn, "interrupted": done.interrupted}
        if done.time_to_first_audio_ms is not None:
            m.ttfa.observe(done.time_to_first_audio_ms / 1000)
            facts["time_to_first_audio_ms"] = round(done.time_to_first_audio_ms, 1)
        logger.info("turn finished", extra=facts)
        if done.usage:
            m.tokens.labels("prompt").inc(done.usage.prompt_tokens)
            m.tokens.labels("response").inc(done.usage.response_tokens)
            m.tokens.labels("thoughts").inc(done.usage.thoughts_tokens)
            m.tokens.labels("tool_use_prompt").inc(done.usage.tool_use_prompt_tokens)
            m.cost.inc(done.cost_usd)

    def _control(self, messages: list[p.ServerMessage]) -> None:
        for message in messages:
            self._outbox.put_control(message)
