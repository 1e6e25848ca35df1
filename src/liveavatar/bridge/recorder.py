"""Persistence of one conversation, turn by turn, off the audio path."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from liveavatar.live.events import Usage
from liveavatar.store import Source, Store, TurnRecord

from .turns import FinishedTurn, heard_prefix

logger = logging.getLogger(__name__)

QUEUE_TURNS = 256
RECENT_TURNS = 16  # turns the page may still report on (their answers may still play)


@dataclass(frozen=True)
class PlaybackReport:
    """What the page heard of a recorded turn's answer, to add to its stored record."""

    index: int
    heard_text: str
    av_offset_ms: float | None


WRITE_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 3.0  # within Cloud Run's 10 s after SIGTERM, with room for the rest


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SessionRecorder:
    """Writes a conversation as it happens: the start, each turn the moment it ends, the end.

    The bridge only enqueues (never waits on the store); the recorder's own writer task
    writes each turn in one atomic store call keyed by (conversation, turn index), so a
    write that is repeated after an interruption is stored once, and a crash loses at most
    the turn in progress. The writer is owned here, not by the session's task group: the
    session ending never cancels a write half done. A failing store is logged and the
    session goes on: the conversation matters more than its log.
    """

    def __init__(
        self,
        store: Store,
        *,
        conversation_id: str,
        user_id: str,
        persona_version: int | None,
        first_index: int = 0,
        clock: Callable[[], dt.datetime] = _utcnow,
        name: str = "recorder",
    ) -> None:
        """`first_index` continues a resumed conversation's turn numbering."""
        self._store = store
        self.conversation_id = conversation_id
        self._user_id = user_id
        self._persona_version = persona_version
        self._clock = clock
        self._name = name
        self._started_at = clock()
        self._queue: asyncio.Queue[TurnRecord | PlaybackReport] = asyncio.Queue(QUEUE_TURNS)
        self._in_flight: TurnRecord | PlaybackReport | None = None
        # Protocol turn -> (store index, generated model text, reported yet).
        self._recent: OrderedDict[int, tuple[int, str, bool]] = OrderedDict()
        self._writer: asyncio.Task[None] | None = None
        self._index = first_index
        self._errors = 0
        self._started = False
        self._finished = False

    @property
    def part(self) -> str:
        """This session's part of the conversation: its start in microseconds since the
        epoch (its end's key in the store, and its recording's name)."""
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return str((self._started_at - epoch) // dt.timedelta(microseconds=1))

    @property
    def turns_recorded(self) -> int:
        """How many turns this session handed to the recorder."""
        return self._index

    async def start(self) -> None:
        """Record the conversation's start (bounded; a store failure is logged, not raised)
        and start the writer."""
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self._store.start_conversation(
                    self.conversation_id, self._user_id, self._started_at, self._persona_version
                )
                await self._store.increment_daily(self._started_at.date(), sessions=1)
            self._started = True
        except Exception:
            logger.exception("could not record the conversation start")
        self._writer = asyncio.create_task(self._run(), name=f"{self._name}-writer")

    def turn(self, done: FinishedTurn) -> None:
        """Queue a finished turn for writing now; never blocks the caller."""
        if self._finished:
            logger.error("turn finished after the session ended", extra={"turn": self._index})
            return
        ended = self._clock()
        started = ended - dt.timedelta(milliseconds=done.turn_latency_ms)
        usage = done.usage or Usage()
        record = TurnRecord(
            index=self._index,
            user_text=done.user_text,
            model_text=done.model_text,
            interrupted=done.interrupted,
            started_at=max(started, self._started_at),
            ended_at=ended,
            time_to_first_audio_ms=done.time_to_first_audio_ms,
            turn_latency_ms=done.turn_latency_ms,
            prompt_tokens=usage.prompt_tokens,
            response_tokens=usage.response_tokens,
            input_text_tokens=usage.input_text_tokens,
            input_audio_tokens=usage.input_audio_tokens,
            input_video_tokens=usage.input_video_tokens,
            output_text_tokens=usage.output_text_tokens,
            output_audio_tokens=usage.output_audio_tokens,
            thoughts_tokens=usage.thoughts_tokens,
            tool_use_prompt_tokens=usage.tool_use_prompt_tokens,
            cost_usd=done.cost_usd,
            sources=[Source(title=s.title, uri=s.uri, domain=s.domain) for s in done.sources],
            search_queries=list(done.queries),
            tool_calls=list(done.tool_calls),
            heard_text=done.heard_text,
            av_offset_ms=done.av_offset_ms,
        )
        self._index += 1
        self._recent[done.turn] = (record.index, record.model_text, done.heard_words is not None)
        while len(self._recent) > RECENT_TURNS:
            self._recent.popitem(last=False)
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            logger.error("turn not recorded: the store is far behind", extra={"turn": record.index})

    def played(self, turn: int, words: int, av_offset_ms: float | None) -> None:
        """The page's report on a recorded turn's answer: the heard prefix of its text is
        added to the stored turn (once; a report on an unknown turn is dropped)."""
        known = self._recent.get(turn)
        if known is None or known[2] or self._finished:
            return
        index, model_text, _ = known
        self._recent[turn] = (index, model_text, True)
        report = PlaybackReport(index, heard_prefix(model_text, words), av_offset_ms)
        try:
            self._queue.put_nowait(report)
        except asyncio.QueueFull:
            logger.error("playback report dropped: the store is far behind", extra={"turn": index})

    def error(self) -> None:
        self._errors += 1

    async def _run(self) -> None:
        """The writer task: one atomic write per turn, in order."""
        while True:
            record = await self._queue.get()
            # Kept until written: if this task is cancelled mid-write, `finish` writes it
            # again, and the store's turn key makes the second write a no-op.
            self._in_flight = record
            await self._write(record)
            self._in_flight = None
            self._queue.task_done()

    async def _write(self, record: TurnRecord | PlaybackReport) -> None:
        if not self._started:
            return
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                if isinstance(record, PlaybackReport):
                    await self._store.record_playback(
                        self.conversation_id, record.index, record.heard_text, record.av_offset_ms
                    )
                    return
                # One call: the store counts the turn in the day's totals in the same atomic
                # write, so a session ending mid-write can neither lose nor double that count.
                if not await self._store.append_turn(self.conversation_id, record):
                    await self._place_elsewhere(record)
        except Exception:
            logger.exception("could not record a turn", extra={"turn": record.index})

    async def _place_elsewhere(self, record: TurnRecord) -> None:
        """The store already had a turn at this index: ours, written before (a repeated
        write), or another connection's. The latter happens when the page resumed here while
        the session's old connection, on another instance, was still finishing its turn:
        both numbered their next turn alike. Ours then goes after the last stored turn, and
        the turns after it follow."""
        for _ in range(3):
            turns = await self._store.get_turns(self.conversation_id)
            if not turns or any(_same_turn(t, record) for t in turns):
                return
            index = max(t.index for t in turns) + 1
            self._index = max(self._index, index + 1)
            logger.warning(
                "turn index taken by another connection; stored after it",
                extra={"turn": record.index, "moved_to": index},
            )
            record = record.model_copy(update={"index": index})
            if await self._store.append_turn(self.conversation_id, record):
                return
        logger.error("turn not recorded: its index kept being taken", extra={"turn": record.index})

    async def finish(self) -> None:
        """Write every turn still owed (bounded), then the conversation's end and duration.

        Runs once; later calls return at once. Never raises for a store problem.
        """
        if self._finished:
            return
        self._finished = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_TIMEOUT_S
        if self._writer is not None:
            # Let the writer drain the queue on its own first; then stop it wherever it is.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT_S):
                    await self._queue.join()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        owed = [] if self._in_flight is None else [self._in_flight]
        while not self._queue.empty():
            owed.append(self._queue.get_nowait())
        for record in owed:
            try:
                async with asyncio.timeout(max(0.1, deadline - loop.time())):
                    await self._write(record)
            except TimeoutError:
                logger.error("gave up writing queued turns", extra={"turns": len(owed)})
                break
        if not self._started:
            return
        ended = self._clock()
        duration = (ended - self._started_at).total_seconds()
        # This session's start names its part of the conversation: a resumed conversation's
        # later sessions each add their own end, duration and errors.
        part = self.part
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                # The store adds the ended session, duration and errors to the day itself,
                # atomically with this session's end marker (counted once, however often
                # this runs).
                await self._store.end_conversation(
                    self.conversation_id, ended, duration, errors=self._errors, part=part
                )
        except Exception:
            logger.exception("could not record the conversation end")


def _same_turn(stored: TurnRecord, record: TurnRecord) -> bool:
    """The same turn, written before: the store keeps a turn's times as they were given."""
    return (stored.ended_at, stored.user_text, stored.model_text) == (
        record.ended_at,
        record.user_text,
        record.model_text,
    )
