"""Every way a session can end, at every point of a turn, gives back what it took.

Each case runs one conversation through the real backend and emulator, ends it one way at
one point of a turn, waits until the backend has let the session go, and then checks what
was left behind: the user's session slot (with a cap of one session per user, a leak shows
as `rate_limited` on the next session), the turns in the store (every finished turn once,
the turn cut by the ending kept as interrupted) and the conversation's end time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from liveavatar.auth.tokens import AnonymousVerifier
from liveavatar.emulator.config import FaultConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.errors import CLOSE_RECONNECT
from liveavatar.server.app import AppState
from liveavatar.settings import Settings
from liveavatar.store import DB_FILENAME, SQLiteStore
from liveavatar.store.models import Conversation
from tests.integration.conftest import StartEmulator
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.support.browser import BrowserLog, browser, count, stream_pcm
from tests.support.speech import silence, synthesize_pcm16

pytestmark = pytest.mark.slow

ASKED = "tell me a joke"
# The emulator waits this long before a reply's first audio: a wide "awaiting" window.
FIRST_AUDIO_DELAY_MS = 1500
QUOTA_S = 60.0

ENDINGS = [
    "bye_then_close",  # what the page's Stop does: bye, then close(1000) at once
    "close_without_bye",
    "bye_then_wait",
    "network_drop",
    "server_shutdown",
    "live_failure",
    "quota_end",
]
POINTS = ["idle", "user_speaking", "awaiting_answer", "answering", "just_finished"]


@dataclass
class Case:
    ending: str
    point: str


def cases() -> list[Any]:
    out = []
    for ending in ENDINGS:
        for point in POINTS:
            # The quota's cut comes on its own clock; "just finished" cannot be aimed at.
            if ending == "quota_end" and point == "just_finished":
                continue
            out.append(pytest.param(Case(ending, point), id=f"{ending}-{point}"))
    return out


async def _uid() -> str:
    return (await AnonymousVerifier().verify(None, client_ip="127.0.0.1")).uid


def _state(backend: Backend) -> AppState:
    return backend.state


async def _sessions_ended(state: AppState, limit_s: float = 20.0) -> None:
    """Wait until every session task of the backend has finished, teardown included."""
    tasks = list(state.sessions)
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=limit_s)
        assert not pending, "a session did not end"


async def _stored(settings: Settings, conversation_id: str) -> Conversation:
    store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)
    try:
        found = await store.get_conversation(conversation_id)
    finally:
        await store.close()
    assert found is not None, "the conversation was never recorded"
    return found


def _turns(conv: Conversation) -> dict[int, dict[str, Any]]:
    turns: dict[int, dict[str, Any]] = {}
    for m in conv.messages:
        turn = turns.setdefault(m.turn_index, {"user": "", "model": "", "interrupted": False})
        turn[m.role] = m.text
        turn["interrupted"] = turn["interrupted"] or m.interrupted
    return turns


async def _reach(point: str, ws: ClientConnection, log: BrowserLog) -> None:
    if point == "idle":
        return
    if point == "user_speaking":
        speech = silence(300) + synthesize_pcm16("what time is it")
        await stream_pcm(ws, speech[: len(speech) * 3 // 4])  # cut mid-word
        return
    await ws.send(json.dumps({"type": "text", "text": ASKED}))
    if point == "awaiting_answer":
        await log.wait_for(lambda log: ASKED in log.final("user"))
    elif point == "answering":
        await log.wait_for(lambda log: len(log.audio()) >= 24_000)  # half a second
    else:
        await log.wait_for(lambda log: count("turn_complete")(log) == 1)


async def _end(
    case: Case, ws: ClientConnection, log: BrowserLog, backend: Backend, emulator: EmulatorServer
) -> None:
    bye = json.dumps({"type": "bye"})
    if case.ending == "bye_then_close":
        await ws.send(bye)
        await ws.close(1000, "bye")
    elif case.ending == "close_without_bye":
        await ws.close(1000)
    elif case.ending == "bye_then_wait":
        await ws.send(bye)
        await log.wait_for(lambda log: log.close_code is not None, limit_s=10)
        assert log.close_code == 1000
    elif case.ending == "network_drop":
        ws.transport.abort()
    elif case.ending == "server_shutdown":
        await backend.stop()
        assert log.close_code == CLOSE_RECONNECT
        assert count("going_away")(log) == 1
    elif case.ending == "live_failure":
        await emulator.close()
        await log.wait_for(lambda log: log.close_code is not None, limit_s=60)
        assert log.close_code == 4503
    elif case.ending == "quota_end":
        await log.wait_for(lambda log: log.close_code is not None, limit_s=30)
        assert log.close_code == 4430


@pytest.mark.parametrize("case", cases())
async def test_every_ending_gives_back_everything(
    case: Case, start_emulator: StartEmulator, start_backend: StartBackend
) -> None:
    emulator = await start_emulator(faults=FaultConfig(first_audio_delay_ms=FIRST_AUDIO_DELAY_MS))
    extra: dict[str, Any] = {"max_sessions_per_user": 1}
    if case.ending == "quota_end":
        extra |= {"quota_minutes_per_day": QUOTA_S / 60, "quota_warn_before_s": 0}
    settings = backend_settings(emulator, **extra)
    backend = await start_backend(settings)
    state = _state(backend)
    uid = await _uid()
    if case.ending == "quota_end":
        # Leave just enough of today's quota for the cut to fall at the point wanted.
        left = {"idle": 1.0, "user_speaking": 1.0, "awaiting_answer": 1.0, "answering": 3.0}
        today = dt.datetime.now(dt.UTC).date()
        await state.store.add_usage(uid, today, QUOTA_S - left[case.point])

    async with browser(backend.ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        session_id = log.messages("ready")[0]["session_id"]
        with contextlib.suppress(AssertionError, ConnectionClosed):  # the quota may cut first
            await _reach(case.point, ws, log)
        finished_before = count("turn_complete")(log)
        await _end(case, ws, log, backend, emulator)

    # The backend has let go of the session: no task, no slot, no waiting place.
    await _sessions_ended(state)
    assert state.deps.gate.session_cap.held(uid) == 0
    assert state.capacity.waiting == 0

    conv = await _stored(settings, session_id)
    assert conv.ended_at is not None, "the conversation's end was not recorded"
    assert conv.duration_s >= 0
    turns = _turns(conv)
    assert sorted(turns) == list(range(len(turns))), "turns stored with gaps"
    assert conv.metrics.turns == len(turns)
    if case.point == "idle":
        assert turns == {}
    elif case.point == "just_finished":
        assert finished_before == 1
        assert len(turns) == 1 and not turns[0]["interrupted"]
        assert turns[0]["user"] == ASKED
        assert turns[0]["model"] == log.final("model")[0]
    elif case.point in ("awaiting_answer", "answering") and case.ending != "quota_end":
        # The turn cut by the ending is kept, with what the user asked.
        assert len(turns) == 1 and turns[0]["user"] == ASKED
        if case.ending != "live_failure":  # a Live drop ends the turn itself
            assert turns[0]["interrupted"]
    else:
        # Aimed by time only: at most the one turn, and if stored, with the user's words.
        assert len(turns) <= 1
        if turns and case.point != "user_speaking":
            assert turns[0]["user"] == ASKED

    if case.ending == "server_shutdown":
        return
    # The next session of the same user is admitted (or refused only for its quota).
    async with browser(backend.ws_url) as (_ws, next_log):
        await next_log.wait_for(lambda log: count("ready")(log) == 1 or log.close_code is not None)
    if case.ending == "quota_end":
        assert next_log.close_code == 4430
    elif case.ending != "live_failure":
        assert count("ready")(next_log) == 1, next_log.messages("error")
    else:
        # Live is gone for good here: refused for that, never for a leaked slot.
        codes = [m["code"] for m in next_log.messages("error")]
        assert "rate_limited" not in codes


async def test_stop_three_times_then_talk_again(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    """The page's Stop, three times over: the fourth conversation is admitted."""
    settings = backend_settings(emulator)  # three sessions per user, as shipped
    backend = await start_backend(settings)
    for _ in range(4):
        async with browser(backend.ws_url) as (ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            await ws.send(json.dumps({"type": "bye"}))
            await ws.close(1000, "bye")
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)


async def test_hang_up_right_after_the_answer_keeps_every_turn(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    """Ten sessions that say bye the moment the answer ends each store their turn."""
    settings = backend_settings(emulator, max_sessions_per_user=10)
    backend = await start_backend(settings)

    async def one() -> str:
        async with browser(backend.ws_url) as (ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
            await ws.send(json.dumps({"type": "text", "text": "how are you"}))
            await log.wait_for(lambda log: count("turn_complete")(log) == 1)
            await ws.send(json.dumps({"type": "bye"}))
            await ws.close(1000, "bye")
        return str(log.messages("ready")[0]["session_id"])

    ids = await asyncio.gather(*(one() for _ in range(10)))
    state = _state(backend)
    await _sessions_ended(state)
    for session_id in ids:
        conv = await _stored(settings, session_id)
        turns = _turns(conv)
        assert len(turns) == 1 and turns[0]["user"] == "how are you"
        assert conv.ended_at is not None
