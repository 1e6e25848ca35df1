"""Each finished turn is one JSON log line with its time to first audio.

Cloud Monitoring's log-based TTFA metric (deploy/monitoring/metrics/liveavatar_ttfa_ms.json)
reads `jsonPayload.time_to_first_audio_ms` from the "turn finished" line.
"""

from __future__ import annotations

import json
import logging

import pytest

from liveavatar.bridge.live_events import LiveEvents
from liveavatar.bridge.outbox import Outbox
from liveavatar.bridge.tool_calls import ToolCalls
from liveavatar.bridge.turns import FinishedTurn, TurnTracker
from liveavatar.live.events import AudioOut, InputText, TurnComplete
from liveavatar.live.tools import ToolResponse
from liveavatar.log import CloudJsonFormatter
from liveavatar.metrics import Metrics
from liveavatar.tools import ToolRegistry


def events() -> LiveEvents:
    outbox, metrics = Outbox(), Metrics()

    async def respond(responses: list[ToolResponse]) -> None:
        return None

    recorded: list[FinishedTurn] = []
    return LiveEvents(
        turns=TurnTracker(),
        outbox=outbox,
        tools=ToolCalls(
            name="t", registry=ToolRegistry([]), metrics=metrics, outbox=outbox, respond=respond
        ),
        metrics=metrics,
        on_handle=lambda handle, now: None,
        on_turn=recorded.append,
    )


def finished_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    formatter = CloudJsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    return [line for line in lines if line["message"] == "turn finished"]


def test_a_spoken_turn_logs_its_time_to_first_audio(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="liveavatar.bridge.live_events")
    live = events()
    live.handle(InputText("hello"), 10.0)
    live.handle(AudioOut(b"\x00\x00" * 480), 10.25)
    live.handle(TurnComplete(), 11.0)
    live.handle(InputText("and then"), 12.0)  # a turn is recorded once its usage is known
    (line,) = finished_lines(caplog)
    assert line["severity"] == "INFO"
    assert line["interrupted"] is False
    assert isinstance(line["time_to_first_audio_ms"], float)
    assert isinstance(line["turn"], int)


def test_a_turn_without_model_audio_logs_no_time(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="liveavatar.bridge.live_events")
    live = events()
    live.handle(InputText("hello"), 10.0)
    live.handle(TurnComplete(), 11.0)
    live.handle(InputText("and then"), 12.0)
    (line,) = finished_lines(caplog)
    assert "time_to_first_audio_ms" not in line
