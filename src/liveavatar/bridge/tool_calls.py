"""Server-side tool calls of one session: each its own named task, never blocking audio.

A call Live made NON_BLOCKING (a slow lookup, where the model allows it) outlives the
model's turn: the model talks on while it runs, a barge-in does not cancel it (only
Live's `toolCallCancellation` does), and its answer carries the tool's `scheduling`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from liveavatar import protocol as p
from liveavatar.live.tools import ToolResponse
from liveavatar.metrics import Metrics
from liveavatar.store.models import ToolCallRecord
from liveavatar.tools import ToolRegistry

from .outbox import Outbox, OutboxOverflow

MAX_CONCURRENT_TOOLS = 4
CANCEL_TIMEOUT_S = 2.0

Respond = Callable[[list[ToolResponse]], Awaitable[None]]


@dataclass(frozen=True)
class _Call:
    name: str
    args: str  # as JSON, for the record
    started: float  # on the event loop's clock
    task: asyncio.Task[None]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class ToolCalls:
    """Runs Live's function calls through the registry and answers with `toolResponse`.

    At most MAX_CONCURRENT_TOOLS run at once (the rest wait); each is bounded by its tool's
    timeout; the browser sees started/finished/failed/cancelled. Each call that ends
    (answered, failed or cancelled) is reported to `on_done` for the turn's record.
    """

    def __init__(
        self,
        *,
        name: str,
        registry: ToolRegistry,
        metrics: Metrics,
        outbox: Outbox,
        respond: Respond,
        on_done: Callable[[ToolCallRecord], None] = lambda record: None,
    ) -> None:
        self._name = name
        self._registry = registry
        self._metrics = metrics
        self._outbox = outbox
        self._respond = respond
        self._on_done = on_done
        self._running: dict[str, _Call] = {}
        self._non_blocking: set[str] = set()  # ids of the running NON_BLOCKING calls
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_TOOLS)

    def start(
        self, call_id: str, name: str, args: dict[str, object], *, non_blocking: bool = False
    ) -> None:
        """Run one call in a task of its own; `non_blocking` as Live declared it."""
        self._outbox.put_control(p.ToolActivity(call_id=call_id, name=name, status="started"))
        task = asyncio.create_task(
            self._run(call_id, name, args, non_blocking), name=f"{self._name}-tool-{name}"
        )
        started = asyncio.get_running_loop().time()
        self._running[call_id] = _Call(name, _json(args), started, task)
        if non_blocking:
            self._non_blocking.add(call_id)

        def done(_t: asyncio.Task[None]) -> None:
            self._running.pop(call_id, None)
            self._non_blocking.discard(call_id)

        task.add_done_callback(done)

    async def _run(
        self, call_id: str, name: str, args: dict[str, object], non_blocking: bool
    ) -> None:
        async with self._slots:
            result = await self._registry.call(name, dict(args))
        status: Literal["finished", "failed"] = "finished" if result.ok else "failed"
        self._metrics.tool_calls.labels(name, status).inc()
        self._on_done(
            ToolCallRecord.bounded(
                name,
                _json(args),
                _json(result.response),
                ok=result.ok,
                duration_ms=result.duration_ms,
            )
        )
        # If the browser stopped reading, this task is not the one to end the session: the
        # session's own tasks meet the same bound and close it; Live still gets its answer.
        with contextlib.suppress(OutboxOverflow):
            self._outbox.put_control(p.ToolActivity(call_id=call_id, name=name, status=status))
        scheduling = self._registry.scheduling(name) if non_blocking else None
        await self._respond([ToolResponse(call_id, name, result.response, scheduling)])

    def interrupted(self) -> None:
        """The model's turn was cut off: its blocking calls are moot (their answers would
        go to a turn that is gone); NON_BLOCKING ones run on."""
        self.cancel([i for i in self._running if i not in self._non_blocking])

    def cancel(self, ids: list[str] | None = None) -> None:
        """Cancel the given calls (all when None), telling the browser."""
        for call_id in list(self._running) if ids is None else ids:
            call = self._running.pop(call_id, None)
            if call is not None and not call.task.done():
                # Only here: a running call implies a running loop, and an interruption with
                # nothing to cancel must not need one.
                now = asyncio.get_running_loop().time()
                call.task.cancel()
                self._outbox.put_control(
                    p.ToolActivity(call_id=call_id, name=call.name, status="cancelled")
                )
                elapsed_ms = (now - call.started) * 1000
                self._on_done(
                    ToolCallRecord.bounded(
                        call.name, call.args, "cancelled", ok=False, duration_ms=elapsed_ms
                    )
                )

    async def close(self) -> None:
        """Cancel whatever still runs and wait for it, bounded."""
        tasks = [call.task for call in self._running.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=CANCEL_TIMEOUT_S)
