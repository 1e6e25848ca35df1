"""A conversation resumed over several sessions ends when its last session ends, and lasts
the talk time of all of them (not the first session's, nor the pause between them)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.settings import Settings
from liveavatar.store import DB_FILENAME, Conversation, DailyMetrics, SQLiteStore
from tests.integration.server.conftest import Backend, StartBackend, backend_settings
from tests.integration.server.test_session_ownership import KEY_A, ready, talk

PAUSE_S = 1.0  # between the two sessions: a page that reconnects a moment later


async def ended_sessions(backend: Backend) -> None:
    """Wait for the sessions' teardowns: the conversation's end is recorded after the
    socket closes, so after `talk` returns."""
    sessions = list(backend.state.sessions)
    if sessions:
        await asyncio.wait(sessions, timeout=20)


async def stored(settings: Settings, conversation_id: str) -> tuple[Conversation, DailyMetrics]:
    store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)
    try:
        conv = await store.get_conversation(conversation_id)
        assert conv is not None
        return conv, await store.get_daily(conv.timestamp)
    finally:
        await store.close()


async def test_a_resumed_conversation_records_each_sessions_end(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator)
    backend = await start_backend(settings)
    first = await talk(backend, "tell me a joke", browser_key=KEY_A)
    session_id = ready(first)["session_id"]
    await ended_sessions(backend)
    once, _ = await stored(settings, session_id)
    assert once.ended_at is not None and once.duration_s > 0

    await asyncio.sleep(PAUSE_S)
    again = await talk(backend, "thank you", browser_key=KEY_A, session_id=session_id)
    assert ready(again)["resumed"] and ready(again)["session_id"] == session_id
    await ended_sessions(backend)
    conv, day = await stored(settings, session_id)

    assert [m.text for m in conv.messages if m.role == "user"] == ["tell me a joke", "thank you"]
    # It ended after its last turn, not when its first session did.
    assert conv.ended_at is not None and conv.ended_at > once.ended_at
    assert conv.ended_at >= max(m.at for m in conv.messages)
    # Both sessions' talk time, and only that: the pause between them is not counted.
    assert conv.duration_s > once.duration_s
    span = (conv.ended_at - conv.timestamp).total_seconds()
    assert conv.duration_s < span - PAUSE_S + 0.1
    # The day counts both sessions' ends, with the same talk time.
    assert day.ended_sessions == 2
    assert day.duration_s_sum == pytest.approx(conv.duration_s)
    assert day.total_sessions == 2
