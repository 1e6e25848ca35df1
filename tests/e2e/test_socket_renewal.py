"""The backend renews the page's socket every few seconds (SOCKET_MAX_AGE_S, as it does
under Cloud Run's request timeout): a spoken conversation goes on across the renewals,
with no banner, one session id, the transcript kept and every turn stored whole."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bench._browser import Stack, liveavatar_up, mic_audio
from playwright.sync_api import expect

from liveavatar.store import DB_FILENAME, Conversation, SQLiteStore
from tests.e2e.avatar_page import OpenPage

pytestmark = pytest.mark.slow

MAX_AGE_S = 3
#: Three questions spaced wider than the socket's age: each is heard on a new socket.
QUESTIONS = ("what is your name", "hello there", "what is your name")
PAUSE_MS = 4_000
RENEWALS = 2  # at least
STORE_TIMEOUT_S = 10.0


@pytest.fixture
def renewing_stack(tmp_path: Path) -> Iterator[Stack]:
    with liveavatar_up(tmp_path / "up", env={"SOCKET_MAX_AGE_S": str(MAX_AGE_S)}) as running:
        yield running


def stored_turns(data_dir: Path, conversation_id: str, turns: int) -> Conversation:
    """The conversation once `turns` turns and its end are written (the last session's
    teardown writes after its socket closed), read on a thread of its own: Playwright's
    sync API runs an event loop on this one."""

    async def poll() -> Conversation:
        store = SQLiteStore(data_dir / DB_FILENAME)
        try:
            async with asyncio.timeout(STORE_TIMEOUT_S):
                while True:
                    conv = await store.get_conversation(conversation_id)
                    if conv is not None and conv.metrics.turns >= turns and conv.ended_at:
                        return conv
                    await asyncio.sleep(0.1)  # polling interval, not a readiness guess
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, poll()).result()


def test_a_conversation_goes_on_across_socket_renewals(
    renewing_stack: Stack, open_page: OpenPage, tmp_path: Path
) -> None:
    items: list[str | float] = []
    for question in QUESTIONS:
        items += [question, PAUSE_MS]
    page = open_page(renewing_stack.page_url(), audio=mic_audio(*items))
    page.wait_state("listening")
    page.wait_event("turn_complete", after=len(QUESTIONS) - 1, timeout_ms=90_000)
    page.wait_for(
        "h.events.filter((e) => e.type === 'ready').length > arg", RENEWALS, timeout_ms=30_000
    )
    page.wait_quiet()
    page.screenshot("after-renewals")

    readies = page.events("ready")
    session_id = readies[0]["session_id"]
    assert all(r["session_id"] == session_id and r["resumed"] for r in readies[1:])
    renewals = page.events("socket-reconnecting")
    assert len(renewals) >= RENEWALS
    assert {(r["reason"], r["code"], r["delayMs"]) for r in renewals} == {("renew", 4000, 0)}
    assert not page.events("problem"), "a renewal is not a problem to show"
    assert not page.events("socket-closed")
    expect(page.testid("error")).to_be_hidden()
    assert page.hook("h.connected")

    # The page kept every turn's transcript, each in its own entry.
    completed = len(page.events("turn_complete"))
    expect(page.transcript("model")).to_have_count(completed)
    turns = [e["turn"] for e in page.events("turn_complete")]
    assert turns == list(range(1, completed + 1))

    page.testid("stop").click()
    page.wait_state("idle")
    conv = stored_turns(tmp_path / "up" / "data", session_id, completed)
    assert conv.metrics.turns == completed, "every turn stored, and stored once"
    models = [m for m in conv.messages if m.role == "model"]
    assert len(models) == completed and all(m.text.strip() for m in models)
