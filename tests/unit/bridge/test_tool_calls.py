"""The bridge's tool calls: answered in our own type with the tool's scheduling when Live
declared the call NON_BLOCKING; a barge-in cancels only the calls the model waits for."""

from __future__ import annotations

import asyncio
from typing import Any

from liveavatar.bridge.outbox import Outbox
from liveavatar.bridge.tool_calls import ToolCalls
from liveavatar.live.tools import ToolResponse
from liveavatar.metrics import Metrics
from liveavatar.tools import Tool, ToolRegistry

SCHEMA: dict[str, Any] = {"type": "object"}


class Harness:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.answers: asyncio.Queue[ToolResponse] = asyncio.Queue()

        async def slow(args: dict[str, Any]) -> str:
            await self.gate.wait()
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
            name="t", registry=registry, metrics=Metrics(), outbox=self.outbox, respond=respond
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
