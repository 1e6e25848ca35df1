"""The Gemini 3.8 feature set through the real backend and the emulator: a slow
NON_BLOCKING tool runs while the avatar keeps talking, the extended-thinking model's turn
ends only at `interactionStatus: IDLE`, and a persona its model does not accept is refused
when saved and when loaded."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.live.models import UnsupportedSetting
from liveavatar.store import DB_FILENAME, PersonaConfig
from liveavatar.tools import Tool
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.browser import BrowserLog, browser, count

ASK = "check the status of order seven"
ANSWER = "Order seven shipped yesterday."


class SlowLookup:
    """A slow tool, answered when the test says so."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def __call__(self, args: dict[str, Any]) -> dict[str, str]:
        await self.release.wait()
        return {"text": ANSWER}

    def tool(self) -> Tool:
        return Tool(
            name="check_order_status",
            description="Check the status of an order",
            parameters={"type": "object", "properties": {"order": {"type": "string"}}},
            handler=self,
            timeout_s=30.0,
            non_blocking=True,  # a slow lookup: the avatar talks on
        )


async def backend_with(
    emulator: EmulatorServer, start_backend: StartBackend, lookup: SlowLookup, **persona: Any
) -> Backend:
    """A backend whose saved persona has the slow lookup as its only tool."""
    backend = await start_backend(backend_settings(emulator, persona_cache_s=0))
    backend.state.tools.register(lookup.tool())
    config = PersonaConfig(name="Ava", voice="Kore", tools=["check_order_status"], **persona)
    await backend.state.store.put_persona(config, expected_version=0)
    return backend


def kinds(log: BrowserLog) -> list[str]:
    out: list[str] = []
    for frame in log.frames:
        kind = "audio" if isinstance(frame, bytes) else frame["type"]
        if kind == "tool":
            assert isinstance(frame, dict)
            kind = f"tool:{frame['status']}"
        if not out or out[-1] != kind or kind != "audio":
            out.append(kind)
    return out


async def test_a_slow_tool_runs_while_the_avatar_keeps_talking(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    lookup = SlowLookup()
    backend = await backend_with(emulator, start_backend, lookup, model="gemini-3.8-live")
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": ASK}))
        # The filler is spoken, and its turn ends, with the lookup still running.
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        assert [t["status"] for t in log.messages("tool")] == ["started"]
        lookup.release.set()
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    k = kinds(log)
    started, finished = k.index("tool:started"), k.index("tool:finished")
    assert "audio" in k[started:finished]  # audio went on while the tool ran
    assert "audio" in k[finished:]  # and its answer was spoken after
    assert log.final("model") == ["One moment, let me check.", ANSWER]


async def test_extended_thinking_turn_ends_only_when_the_model_is_idle(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    lookup = SlowLookup()
    lookup.release.set()  # however soon it answers, the filler's turn ends IN_PROGRESS
    backend = await backend_with(
        emulator,
        start_backend,
        lookup,
        model="gemini-3.8-live-extended-thinking",
        thinking_level="low",
    )
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": ASK}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        await ws.send(json.dumps({"type": "text", "text": "thank you"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    # One turn for the question: the filler, the lookup and its answer (IN_PROGRESS did
    # not end it), then the next.
    assert log.final("user") == [ASK, "thank you"]
    assert log.final("model") == [f"One moment, let me check. {ANSWER}", "You are welcome."]
    assert [m["turn"] for m in log.messages("turn_complete")] == [1, 2]
    assert [t["status"] for t in log.messages("tool")] == ["started", "finished"]


async def test_a_persona_its_model_does_not_accept_is_refused(
    emulator: EmulatorServer, start_backend: StartBackend, caplog: pytest.LogCaptureFixture
) -> None:
    settings = backend_settings(emulator, persona_cache_s=0)
    backend = await start_backend(settings)
    store = backend.state.store
    with pytest.raises(UnsupportedSetting, match="model gemini-3.8-live does not accept thinking"):
        await store.put_persona(
            PersonaConfig(
                name="Max", model="gemini-3.8-live", voice="Charon", thinking_level="high"
            ),
            expected_version=0,
        )
    assert await store.get_persona() is None
    # One written behind the store's back (an older release, a hand edit) is refused when
    # loaded: sessions go on with the persona they had.
    stored = PersonaConfig(name="Max", model="gemini-3.8-live", voice="Charon")
    stored = stored.model_copy(update={"version": 1, "affective_dialog": True})
    with sqlite3.connect(Path(settings.data_dir) / DB_FILENAME) as db:
        db.execute(
            "INSERT INTO persona_versions VALUES (?, ?, ?, ?)",
            (1, stored.model_dump_json(), 0, None),
        )
    with caplog.at_level(logging.ERROR, logger="liveavatar.personas"):
        async with browser(backend.ws_url) as (ws, log):
            await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
            await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
    assert log.messages("ready")[0]["persona"] == "Ava"
    assert log.final("model") == ["My name is Ava."]
    assert any(
        "model gemini-3.8-live does not accept affective_dialog" in r.getMessage()
        for r in caplog.records
    )
