"""The stall rule: what must be answered, what answers it, and what a stall looks like."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from liveavatar.live.connection import LiveChannel, LiveOpenError
from liveavatar.live.events import (
    AudioOut,
    Closed,
    FunctionCall,
    Handle,
    InputText,
    Interrupted,
    LiveEvent,
    OutputText,
    ToolCall,
    ToolCancel,
    TurnComplete,
)
from liveavatar.live.guard import StallGuard, guarded
from liveavatar.live.health import LiveHealth, StallStage
from liveavatar.live.tools import ToolResponse

from .fakes import FakeChannel

LONG_S = 60.0  # a bound no test reaches: the rule is checked through `awaiting_answer`
SHORT_S = 0.05  # a bound the test does reach, to see what a stall produces


def guard(timeout_s: float = LONG_S) -> tuple[StallGuard, FakeChannel, list[None]]:
    conn = FakeChannel()
    stalls: list[None] = []
    return StallGuard(conn, timeout_s=timeout_s, on_stall=lambda: stalls.append(None)), conn, stalls


async def receive(stream: AsyncIterator[LiveEvent], conn: FakeChannel, event: LiveEvent) -> None:
    """Have Live send `event` and the guard pass it on."""
    conn.push(event)
    async with asyncio.timeout(5):
        assert await anext(stream) == event


def response(call_id: str) -> list[ToolResponse]:
    return [ToolResponse(id=call_id, name="lookup", response={"ok": True})]


async def test_typed_text_left_unanswered_ends_the_connection_as_stalled() -> None:
    g, conn, stalls = guard(SHORT_S)
    stream = g.events()
    await g.send_text("hello")
    assert conn.texts == ["hello"]
    async with asyncio.timeout(5):
        closed = await anext(stream)
    assert isinstance(closed, Closed) and closed.stalled and closed.code == 1006
    assert stalls == [None]
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_any_message_answers_what_was_sent_before_it() -> None:
    g, conn, _ = guard()
    stream = g.events()
    await g.send_text("hello")
    assert g.awaiting_answer
    await receive(stream, conn, Handle("h1"))  # not a reply, but the far end is alive
    assert not g.awaiting_answer


async def test_blank_text_video_and_open_microphone_silence_expect_nothing() -> None:
    g, _, _ = guard()
    await g.send_text("   ")
    for _ in range(100):
        await g.send_audio(b"\0" * 640)
    await g.send_video(b"jpeg", "image/jpeg")
    await g.audio_stream_end()
    assert not g.awaiting_answer


async def test_audio_while_the_user_speaks_expects_a_reply() -> None:
    g, conn, _ = guard()
    stream = g.events()
    await receive(stream, conn, InputText("what is"))
    await g.send_audio(b"\1" * 640)
    assert g.awaiting_answer
    await receive(stream, conn, InputText(" your name"))
    assert not g.awaiting_answer
    await g.audio_stream_end()  # the mic was muted mid-utterance: a reply is due
    assert g.awaiting_answer
    await receive(stream, conn, AudioOut(b"reply"))
    # The reply started: the user's speech is answered, and the mic is silent again.
    await g.send_audio(b"\0" * 640)
    assert not g.awaiting_answer


@pytest.mark.parametrize("end", [OutputText("Sure."), TurnComplete(), ToolCall(())])
async def test_the_models_reply_or_the_turns_end_stops_expecting(end: LiveEvent) -> None:
    g, conn, _ = guard()
    stream = g.events()
    await receive(stream, conn, InputText("hm"))
    await receive(stream, conn, end)
    await g.send_audio(b"\0" * 640)
    assert not g.awaiting_answer


async def test_the_bound_runs_from_the_earliest_unanswered_send() -> None:
    g, conn, stalls = guard(SHORT_S)
    stream = g.events()
    await receive(stream, conn, InputText("hello"))
    # Audio keeps flowing while the user speaks; more audio does not push the bound out.
    for _ in range(3):
        await g.send_audio(b"\1" * 640)
    async with asyncio.timeout(5):
        closed = await anext(stream)
    assert isinstance(closed, Closed) and closed.stalled
    assert stalls == [None]


async def test_tool_responses_expect_an_answer_only_for_open_calls() -> None:
    g, conn, _ = guard()
    stream = g.events()
    calls = (FunctionCall("a", "lookup"), FunctionCall("b", "lookup"))
    await receive(stream, conn, ToolCall(calls))
    await receive(stream, conn, ToolCancel(("b",)))
    await g.send_tool_responses(response("b"))  # cancelled: Live will not answer it
    assert not g.awaiting_answer
    await g.send_tool_responses(response("a"))
    assert g.awaiting_answer
    await receive(stream, conn, AudioOut(b"result"))
    await g.send_tool_responses(response("a"))  # already answered once
    assert not g.awaiting_answer
    assert [r.id for r in conn.tool_responses] == ["b", "a", "a"]


async def test_a_silent_answer_expects_nothing_back() -> None:
    # SILENT only adds the answer to the context (reference §13.2): the model says nothing.
    g, conn, _ = guard()
    stream = g.events()
    await receive(stream, conn, ToolCall((FunctionCall("a", "lookup", non_blocking=True),)))
    await g.send_tool_responses([ToolResponse("a", "lookup", {"output": 1}, "SILENT")])
    assert not g.awaiting_answer
    await g.send_tool_responses([ToolResponse("a", "lookup", {"output": 1}, "WHEN_IDLE")])
    assert not g.awaiting_answer  # the call is answered: a second answer is moot


async def test_a_keepalive_stall_of_the_connection_is_reported_and_passed_on() -> None:
    g, conn, stalls = guard()
    stream = g.events()
    await receive(stream, conn, Interrupted())
    await receive(stream, conn, Closed(1006, "keepalive ping timeout", stalled=True))
    assert stalls == [None]


async def test_an_ordinary_close_is_not_a_stall() -> None:
    g, conn, stalls = guard()
    stream = g.events()
    await receive(stream, conn, Closed(1011, "Internal error occurred."))
    assert stalls == []


async def test_close_closes_the_connection() -> None:
    g, conn, _ = guard()
    await g.close()
    assert conn.closed


async def test_guarded_opener_reports_opens_and_stalls_to_health() -> None:
    stages: list[StallStage] = []
    health = LiveHealth(on_stall=stages.append)
    failures = [LiveOpenError("no answer", permanent=False, stalled=True)]
    opened: list[FakeChannel] = []

    async def opener(handle: str | None) -> LiveChannel:
        if failures:
            raise failures.pop()
        conn = FakeChannel(handle)
        opened.append(conn)
        return conn

    open_ = guarded(opener, stall_timeout_s=SHORT_S, health=health)
    with pytest.raises(LiveOpenError):
        await open_(None)
    assert health.is_stalled and stages == ["open"]
    conn = await open_("h1")
    assert isinstance(conn, StallGuard) and opened[0].handle == "h1"
    assert not health.is_stalled
    await conn.send_text("hello")
    async with asyncio.timeout(5):
        closed = await anext(aiter(conn.events()))
    assert isinstance(closed, Closed) and closed.stalled
    assert health.is_stalled and stages == ["open", "connection"]
