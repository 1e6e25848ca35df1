"""`usageMetadata` is read wherever it arrives and counted for the turn it belongs to.

Wire messages go through the raw client's translator (both clients yield the same
events: test_parity.py) into the bridge's `LiveEvents`, which records finished turns.
"""

from __future__ import annotations

import json
from typing import Any

from liveavatar.bridge.live_events import LiveEvents
from liveavatar.bridge.outbox import Outbox
from liveavatar.bridge.tool_calls import ToolCalls
from liveavatar.bridge.turns import FinishedTurn, TurnTracker
from liveavatar.live.events import LinkEvent, Reconnecting, Usage
from liveavatar.live.raw import translate_json
from liveavatar.live.tools import ToolResponse
from liveavatar.metrics import Metrics
from liveavatar.tools import ToolRegistry

SPOKEN = {"serverContent": {"inputTranscription": {"text": "hi"}}}
REPLY = {"serverContent": {"outputTranscription": {"text": "Hello!"}}}
DONE = {"serverContent": {"generationComplete": True}}
TURN_END = {"serverContent": {"turnComplete": True}}
HANDLE = {"sessionResumptionUpdate": {"newHandle": "h1", "resumable": True}}


def usage(prompt: int, response: int) -> dict[str, Any]:
    return {
        "usageMetadata": {
            "promptTokenCount": prompt,
            "responseTokenCount": response,
            "totalTokenCount": prompt + response,
        }
    }


class Session:
    """One session's event routing with what it records and sends kept for the test."""

    def __init__(self) -> None:
        self.recorded: list[FinishedTurn] = []
        self.outbox = Outbox()
        self.metrics = Metrics()

        async def respond(responses: list[ToolResponse]) -> None:
            return None

        tools = ToolCalls(
            name="t",
            registry=ToolRegistry([]),
            metrics=self.metrics,
            outbox=self.outbox,
            respond=respond,
        )
        self.events = LiveEvents(
            turns=TurnTracker(),
            outbox=self.outbox,
            tools=tools,
            metrics=self.metrics,
            on_handle=lambda handle, now: None,
            on_turn=self.recorded.append,
        )
        self.now = 0.0

    def wire(self, *messages: dict[str, Any]) -> None:
        for message in messages:
            for event in translate_json(message, vertex=False):
                self.event(event)

    def event(self, event: LinkEvent) -> None:
        self.now += 0.1
        self.events.handle(event, self.now)

    def usages(self) -> list[tuple[int, int | None]]:
        return [(t.turn, t.usage.total_tokens if t.usage else None) for t in self.recorded]

    def metrics_sent(self) -> list[tuple[int, int]]:
        sent = [json.loads(m) for m in self.outbox._control]
        return [(m["turn"], m["total_tokens"]) for m in sent if m["type"] == "metrics"]

    def tokens_counted(self) -> float | None:
        return self.metrics.registry.get_sample_value(
            "liveavatar_tokens_total", {"direction": "prompt"}
        )


def test_usage_beside_turn_complete_is_the_turns() -> None:
    s = Session()
    s.wire(SPOKEN, REPLY, DONE, {**TURN_END, **usage(10, 5)})
    assert s.usages() == [(1, 15)]
    assert s.metrics_sent() == [(1, 15)]
    assert s.tokens_counted() == 10


def test_usage_in_a_message_of_its_own_before_turn_complete() -> None:
    s = Session()
    s.wire(SPOKEN, REPLY, DONE, usage(10, 5), TURN_END)
    assert s.usages() == [(1, 15)]
    assert s.metrics_sent() == [(1, 15)]


def test_usage_after_turn_complete_reaches_the_finished_turn() -> None:
    s = Session()
    s.wire(SPOKEN, REPLY, TURN_END)
    assert s.recorded == []  # held back: its usage may follow
    assert s.metrics_sent() == [(1, 0)]
    s.wire(HANDLE, usage(10, 5))  # a resumption update in between changes nothing
    assert s.usages() == [(1, 15)]
    assert s.metrics_sent() == [(1, 0), (1, 15)]  # the page hears the turn's tokens
    assert s.tokens_counted() == 10
    s.wire(SPOKEN, REPLY, usage(20, 7), TURN_END)
    assert s.usages() == [(1, 15), (2, 27)]


def test_a_turn_without_usage_is_recorded_when_the_next_begins() -> None:
    s = Session()
    s.wire(SPOKEN, REPLY, TURN_END)
    s.wire(SPOKEN)
    assert s.usages() == [(1, None)]
    # Usage arriving now is the new turn's.
    s.wire(usage(20, 7), REPLY, TURN_END)
    assert s.usages() == [(1, None), (2, 27)]


def test_a_turn_waiting_for_usage_is_recorded_when_the_session_ends() -> None:
    s = Session()
    s.wire(SPOKEN, REPLY, TURN_END, SPOKEN)
    s.events.cut_turn_in_progress(s.now)
    assert s.usages() == [(1, None), (2, None)]
    assert [t.interrupted for t in s.recorded] == [False, True]


def test_the_latest_report_of_a_turn_wins() -> None:
    # A cumulative snapshot per message (reported, not verified: reference §13.5) is then
    # counted once, and a single report per turn (measured) is unaffected.
    s = Session()
    s.wire(SPOKEN, usage(10, 0), REPLY, usage(10, 5), TURN_END)
    assert s.usages() == [(1, 15)]


def test_a_turn_cut_by_a_reconnect_keeps_the_usage_it_had() -> None:
    s = Session()
    s.wire(SPOKEN, REPLY, usage(10, 5))
    s.event(Reconnecting(attempt=1, code=1011))
    assert s.usages() == [(1, 15)]
    s.event(Usage(1, 1, 2))
    s.wire(SPOKEN, REPLY, TURN_END)
    assert s.usages() == [(1, 15), (2, 2)]


def test_an_extended_thinking_turn_goes_on_through_in_progress_and_adds_its_usage() -> None:
    # reference §13.2: `turnComplete` with IN_PROGRESS is not the end of the answer.
    in_progress = {"serverContent": {"turnComplete": True, "interactionStatus": "IN_PROGRESS"}}
    idle = {"serverContent": {"turnComplete": True, "interactionStatus": "IDLE"}}
    more = {"serverContent": {"outputTranscription": {"text": " It shipped."}}}
    s = Session()
    s.wire(SPOKEN, REPLY, {**in_progress, **usage(10, 5)})
    assert s.recorded == [] and s.metrics_sent() == []  # the turn is still open
    s.wire(more, {**idle, **usage(20, 7)})
    assert s.usages() == [(1, 42)]  # each part's usage, added up
    (turn,) = s.recorded
    assert turn.model_text == "Hello! It shipped."
    assert s.metrics_sent() == [(1, 42)]
