"""Persistence of one conversation, turn by turn, off the audio path."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from liveavatar.store import Store, TurnRecord

from .turns import FinishedTurn

logger = logging.getLogger(__name__)

QUEUE_TURNS = 256
WRITE_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 3.0  # within Cloud Run's 10 s after SIGTERM, with room for the rest


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class SessionRecorder:
    """Writes a conversation as it happens: the start, each turn the moment it ends, the end.

    The bridge only enqueues (never waits on the store); the `run` task writes each turn
    in one atomic store call, so a crash loses at most the turn in progress. A failing
    store is logged and the session goes on: the conversation matters more than its log.
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
    ) -> None:
        """`first_index` continues a resumed conversation's turn numbering."""
        self._store = store
        self.conversation_id = conversation_id
        self._user_id = user_id
        self._persona_version = persona_version
        self._clock = clock
        self._started_at = clock()
        self._queue: asyncio.Queue[TurnRecord] = asyncio.Queue(QUEUE_TURNS)
        self._index = first_index
        self._errors = 0
        self._started = False

    async def start(self) -> None:
        """Record the conversation's start (bounded; a store failure is logged, not raised)."""
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await self._store.start_conversation(
                    self.conversation_id, self._user_id, self._started_at, self._persona_version
                )
                await self._store.increment_daily(self._started_at.date(), sessions=1)
            self._started = True
        except Exception:
            logger.exception("could not record the conversation start")

    def turn(self, done: FinishedTurn) -> None:
        """Queue a finished turn for writing now; never blocks the caller."""
        ended = self._clock()
        started = ended - dt.timedelta(milliseconds=done.turn_latency_ms)
        record = TurnRecord(
            index=self._index,
            user_text=done.user_text,
            model_text=done.model_text,
            interrupted=done.interrupted,
            started_at=max(started, self._started_at),
            ended_at=ended,
            time_to_first_audio_ms=done.time_to_first_audio_ms,
            turn_latency_ms=done.turn_latency_ms,
            prompt_tokens=done.usage.prompt_tokens if done.usage else 0,
            response_tokens=done.usage.response_tokens if done.usage else 0,
        )
        self._index += 1
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            logger.error("turn not recorded: the store is far behind", extra={"turn": record.index})

    def error(self) -> None:
        self._errors += 1

    async def run(self) -> None:
        """The writer task: one atomic write per turn, in order."""
        while True:
            record = await self._queue.get()
            await self._write(record)
            self._queue.task_done()

    async def _write(self, record: TurnRecord) -> None:
        if not self._started:
            return
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                first = await self._store.append_turn(self.conversation_id, record)
                if first:
                    await self._store.increment_daily(
                        record.ended_at.date(),
                        turns=1,
                        latency_ms=record.turn_latency_ms,
                        latency_count=1,
                        prompt_tokens=record.prompt_tokens,
                        response_tokens=record.response_tokens,
                    )
        except Exception:
            logger.exception("could not record a turn", extra={"turn": record.index})

    async def finish(self) -> None:
        """Write what is queued (bounded), then the conversation's end and duration."""
        while not self._queue.empty():
            try:
                async with asyncio.timeout(DRAIN_TIMEOUT_S):
                    await self._write(self._queue.get_nowait())
            except TimeoutError:
                logger.error("gave up writing queued turns at shutdown")
                break
        if not self._started:
            return
        ended = self._clock()
        duration = (ended - self._started_at).total_seconds()
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                if await self._store.end_conversation(
                    self.conversation_id, ended, duration, errors=self._errors
                ):
                    await self._store.increment_daily(
                        ended.date(), ended_sessions=1, duration_s=duration, errors=self._errors
                    )
        except Exception:
            logger.exception("could not record the conversation end")
