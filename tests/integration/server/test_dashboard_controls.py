"""What the dashboard controls and reads, through a real backend and emulator: a blocked
user is cut off and refused, the day's event counters, and each turn's tool calls."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from liveavatar.emulator.config import FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.settings import Settings
from liveavatar.store import DB_FILENAME, SQLiteStore
from liveavatar.store.day_totals import COUNTER_LIVE_RECONNECT, COUNTER_LIVE_ROTATION, DailyMetrics
from liveavatar.store.models import TurnRecord
from tests.integration.conftest import StartEmulator
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.browser import browser, count

WAIT_S = 30.0


@pytest.fixture
async def second_store(tmp_path: Path) -> AsyncIterator[Callable[[Settings], SQLiteStore]]:
    """The dashboard's view: another `SQLiteStore` on the backend's own file."""
    opened: list[SQLiteStore] = []

    def open_(settings: Settings) -> SQLiteStore:
        store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)
        opened.append(store)
        return store

    yield open_
    for store in opened:
        await store.close()


T = TypeVar("T")


async def until(read: Callable[[], Awaitable[T]], ok: Callable[[T], bool]) -> T:
    """Poll the store until `ok` holds (a condition with a deadline, never a fixed wait)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            value = await read()
            if ok(value):
                return value
            await asyncio.sleep(0.1)


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


async def test_a_blocked_user_is_cut_off_and_refused_until_unblocked(
    emulator: EmulatorServer,
    start_backend: StartBackend,
    second_store: Callable[[Settings], SQLiteStore],
) -> None:
    settings = backend_settings(emulator, block_check_s=0.2)
    backend = await start_backend(settings)
    store = second_store(settings)
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        [user] = await store.list_users(limit=10)
        await store.update_user(user.id, blocked=True)
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.close_code == 4403
    assert log.messages("error")[-1]["code"] == "forbidden"
    async with browser(backend.ws_url) as (_ws, refused):
        await refused.wait_for(lambda log: log.close_code is not None)
    assert (refused.close_code, refused.messages("error")[0]["code"]) == (4403, "forbidden")
    assert count("ready")(refused) == 0
    await store.update_user(user.id, blocked=False)
    async with browser(backend.ws_url) as (_ws, again):
        await again.wait_for(lambda log: count("ready")(log) == 1)
    assert again.close_code is None


async def test_a_live_reconnect_and_the_errors_sent_are_counted_for_the_day(
    start_emulator: StartEmulator,
    start_backend: StartBackend,
    second_store: Callable[[Settings], SQLiteStore],
) -> None:
    # The Live connection fails (1011) once it is 1 s old and a reply is streaming.
    emulator = await start_emulator(faults=FaultConfig(close_after_s=1.0))
    settings = backend_settings(emulator)
    backend = await start_backend(settings)
    store = second_store(settings)
    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(
            lambda log: any(m["code"] == "live_reconnecting" for m in log.messages("error"))
        )
        await ws.send("{not json")  # one bad_request sent back, the session goes on
        await log.wait_for(
            lambda log: any(m["code"] == "bad_request" for m in log.messages("error"))
        )

        def counted(day: DailyMetrics) -> bool:
            c = day.counters
            return COUNTER_LIVE_RECONNECT in c and "error.bad_request" in c

        day = await until(lambda: store.get_daily(today()), counted)
    assert day.counters[COUNTER_LIVE_RECONNECT] == 1
    assert day.counters["error.live_reconnecting"] == 1
    assert day.counters["error.bad_request"] == 1
    assert COUNTER_LIVE_ROTATION not in day.counters


async def test_a_rotation_is_counted_for_the_day(
    start_emulator: StartEmulator,
    start_backend: StartBackend,
    second_store: Callable[[Settings], SQLiteStore],
) -> None:
    # goAway 1 s before a 2 s lifetime: the link switches to a fresh connection.
    emulator = await start_emulator(connection_lifetime_s=2.0, goaway_notice_s=1.0)
    settings = backend_settings(emulator)
    backend = await start_backend(settings)
    store = second_store(settings)
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        day = await until(
            lambda: store.get_daily(today()), lambda d: COUNTER_LIVE_ROTATION in d.counters
        )
    assert day.counters[COUNTER_LIVE_ROTATION] >= 1
    assert COUNTER_LIVE_RECONNECT not in day.counters
    assert not any(name.startswith("error.") for name in day.counters)


async def test_a_turns_tool_call_is_stored_with_the_turn(
    emulator: EmulatorServer,
    start_backend: StartBackend,
    second_store: Callable[[Settings], SQLiteStore],
) -> None:
    settings = backend_settings(emulator)
    backend = await start_backend(settings)
    store = second_store(settings)
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "what is the current time"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        session_id = log.messages("ready")[0]["session_id"]
        turns = await until(lambda: store.get_turns(session_id), lambda t: len(t) >= 1)
    turn: TurnRecord = turns[0]
    assert turn.user_text == "what is the current time"
    [call] = turn.tool_calls
    assert (call.name, call.ok) == ("get_current_time", True)
    assert isinstance(json.loads(call.args), dict)
    result = json.loads(call.result)
    assert isinstance(result, dict) and result  # the tool's answer, as Live got it
    assert call.duration_ms >= 0
