"""The bridge's tool calls: answered in our own type with the tool's scheduling when Live
declared the call NON_BLOCKING; a barge-in cancels only the calls the model waits for."""

from __future__ import annotations

import asyncio
from typing import Any

from liveavatar.bridge.outbox import Outbox
from liveavatar.bridge.tool_calls import ToolCalls
from liveavatar.live.tools import ToolResponse
from liveavatar.metrics import Metrics
from liveavatar.store import ToolCallRecord
from liveavatar.store.models import MAX_TOOL_TEXT
from liveavatar.tools import Tool, ToolRegistry

SCHEMA: dict[str, Any] = {"type": "object"}


class Harness:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.answers: asyncio.Queue[ToolResponse] = asyncio.Queue()

        self.records: list[ToolCallRecord] = []

        async def slow(args: dict[str, Any]) -> str:
            await self.gate.wait()
            if args.get("fail"):
                raise RuntimeError("no such thing")
            return "found"

        async def respond(responses: list[ToolResponse]) -> None:
            for r in responses:
                self.answers.put_nowait(r)

        registry = ToolRegistry(
            [
                Tool(
                    "lookup", "Look it up", SCHEMA, slow, non_blocking=True, scheduling="INTERRUPT"
                ),
                Tool("clock", "The time", SCHEMA, slow),
            ]
        )
        self.outbox = Outbox()
        self.calls = ToolCalls(
            name="t",
            registry=registry,
            metrics=Metrics(),
            outbox=self.outbox,
            respond=respond,
            on_done=self.records.append,
        )

    async def answer(self) -> ToolResponse:
        async with asyncio.timeout(5):
            return await self.answers.get()


async def test_answers_carry_scheduling_only_for_non_blocking_calls() -> None:
    h = Harness()
    h.calls.start("a", "lookup", {}, non_blocking=True)
    h.calls.start("b", "clock", {})
    h.gate.set()
    answers = {r.id: r for r in (await h.answer(), await h.answer())}
    assert answers["a"] == ToolResponse("a", "lookup", {"output": "found"}, "INTERRUPT")
    assert answers["b"] == ToolResponse("b", "clock", {"output": "found"}, None)


async def test_a_barge_in_cancels_blocking_calls_and_leaves_non_blocking_ones_running() -> None:
    h = Harness()
    h.calls.start("a", "lookup", {}, non_blocking=True)
    h.calls.start("b", "clock", {})
    h.calls.interrupted()
    h.gate.set()
    # The NON_BLOCKING call still answers; the blocking one was cancelled and never does.
    assert (await h.answer()).id == "a"
    await h.calls.close()
    assert h.answers.empty()


async def test_each_ended_call_is_reported_for_the_turns_record() -> None:
    h = Harness()
    h.calls.start("a", "clock", {"zone": "Europe/Paris"})
    h.calls.start("b", "clock", {"fail": True})
    h.calls.start("c", "clock", {"q": "x" * (MAX_TOOL_TEXT + 10)})
    h.calls.cancel(["c"])
    h.gate.set()
    await h.answer(), await h.answer()
    await h.calls.close()
    by_args = {r.args[:20]: r for r in h.records}
    ok = by_args['{"zone": "Europe/Par']
    assert (ok.name, ok.ok, ok.args) == ("clock", True, '{"zone": "Europe/Paris"}')
    assert "found" in ok.result and ok.duration_ms >= 0
    failed = by_args['{"fail": true}']
    assert not failed.ok and failed.result
    cancelled = by_args['{"q": "xxxxxxxxxxxxx']
    assert (cancelled.ok, cancelled.result) == (False, "cancelled")
    assert len(cancelled.args) == MAX_TOOL_TEXT  # bounded
    assert len(h.records) == 3
