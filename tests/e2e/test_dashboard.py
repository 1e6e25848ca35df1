"""The dashboard end to end in headless Chromium, after a real conversation.

`liveavatar up` (emulator, backend, frontend and dashboard on free ports, ADMIN_TOKEN set)
over a data dir holding a persona with recording on; one spoken conversation on the
avatar page, which says it is recorded before the microphone opens, stopped with the
page's Stop button; then the dashboard, opened from the page's Dashboard link: signing in
with the admin token, every page drawn with its title and no exception box, the
conversation with its transcript, and its recording playing. A screenshot of each page is
kept as test-artifacts/e2e/dashboard-<page>.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from bench._browser import Stack, liveavatar_up, mic_audio
from playwright.sync_api import Playwright, expect

from liveavatar.store import DB_FILENAME, SQLiteStore
from liveavatar.store.models import Conversation
from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.dashboard_page import PLAYER, DashboardPage
from tests.e2e.test_recording_notice import start_and_wait_for_the_mic
from tests.support.personas import save_builtin_persona_blocking

pytestmark = pytest.mark.slow

T = TypeVar("T")

TOKEN = "e2e-dashboard-admin-token-0123456789"
QUESTION = "what is your name"
PAGES = ["Overview", "Conversations", "Persona", "Users", "Media"]
#: How far the recording's length may fall short of the conversation's. Both start with
#: the session (the recording at `ready`, the conversation record just before it); the
#: recording ends when the socket closes, while the conversation's end is written after
#: the recording's tail was encoded and stored and the turns still owed were written.
#: That teardown is short, but a loaded 2-core machine can stretch it to about a second.
TEARDOWN_SLACK_S = 2.0
#: How far it may run over: Opus pads its last frame (tens of ms), nothing more.
PADDING_S = 0.25
#: The conversation's end is written by the backend's teardown after the page hangs up.
END_TIMEOUT_S = 30.0


def in_thread(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion on a thread of its own: Playwright's sync API already
    runs an event loop on this one."""

    async def run() -> T:
        return await coro

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def read_store(data_dir: Path, call: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = SQLiteStore(data_dir / DB_FILENAME)
        try:
            return await call(store)
        finally:
            await store.close()

    return in_thread(run())


def wait_for_the_end(data_dir: Path, conversation_id: str) -> Conversation:
    """The conversation once the backend has written its end (polled with a deadline)."""

    async def poll(store: SQLiteStore) -> Conversation:
        async with asyncio.timeout(END_TIMEOUT_S):
            while True:
                conversation = await store.get_conversation(conversation_id)
                if conversation is not None and conversation.ended_at is not None:
                    return conversation
                await asyncio.sleep(0.1)  # polling interval, not a readiness guess

    return read_store(data_dir, poll)


def talk(page: AvatarPage) -> tuple[str, str, float]:
    """One spoken question answered aloud, then Stop: (conversation id, the answer, and the
    session's length as the page saw it, from `ready` to Stop, in seconds)."""
    notice = page.testid("recording-notice")
    expect(notice).to_be_visible(timeout=TURN_TIMEOUT_MS)
    before_mic = start_and_wait_for_the_mic(page)
    assert any(e["type"] == "recording-notice" and e["shown"] for e in before_mic)
    expect(page.transcript("user")).to_have_text(QUESTION, timeout=TURN_TIMEOUT_MS)
    page.wait_for_answer_audio()
    page.wait_event("turn_complete")
    page.wait_quiet()
    answer = page.transcript("model").inner_text().strip()
    assert answer
    page.screenshot("recorded-conversation")
    stopped_at = float(page.page.evaluate("performance.now()"))
    page.testid("stop").click()
    page.wait_for("!h.connected && h.state === 'idle'")
    (ready,) = page.events("ready")
    return str(ready["session_id"]), answer, (stopped_at - float(ready["t"])) / 1000


def test_the_dashboard_shows_a_recorded_conversation(
    tmp_path: Path, open_page: OpenPage, playwright: Playwright
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    save_builtin_persona_blocking(data_dir, recording=True)
    with liveavatar_up(tmp_path, env={"ADMIN_TOKEN": TOKEN}, dashboard=True) as stack:
        page = open_page(stack.page_url(autostart="0"), audio=mic_audio(QUESTION))
        conversation_id, answer, page_session_s = talk(page)
        conversation = wait_for_the_end(data_dir, conversation_id)
        link = page.page.locator("a.dashboard-link")
        expect(link).to_be_visible()
        assert link.get_attribute("href") == stack.dashboard_url
        dashboard = open_dashboard(page, stack)
        try:
            visit_every_page(dashboard)
            check_the_conversation(dashboard, conversation, answer, page_session_s)
        except Exception:
            dashboard.screenshot("failed")  # what the dashboard showed when it went wrong
            raise


def open_dashboard(page: AvatarPage, stack: Stack) -> DashboardPage:
    """The dashboard in a new tab of the same browser, by the page's Dashboard link."""
    with page.page.context.expect_page() as opened:
        page.page.locator("a.dashboard-link").click()
    tab = opened.value
    tab.set_viewport_size({"width": 1280, "height": 900})
    assert tab.url.startswith(stack.dashboard_url)
    dashboard = DashboardPage(tab)
    dashboard.wait_drawn("Sign in")
    dashboard.screenshot("sign-in")
    dashboard.sign_in(TOKEN)
    return dashboard


def visit_every_page(dashboard: DashboardPage) -> None:
    for title in PAGES:
        if title != "Overview":  # signing in lands there
            dashboard.open(title)
        assert dashboard.heading(title).count() == 1
        expect(dashboard.exceptions()).to_have_count(0)
        dashboard.screenshot(title.lower())
        if title == "Overview":
            # Active sessions come from the stack's own backend.
            expect(dashboard.page.get_by_text("Backend not reachable")).to_have_count(0)


def check_the_conversation(
    dashboard: DashboardPage, conversation: Conversation, answer: str, page_session_s: float
) -> None:
    dashboard.open("Conversations")
    dashboard.choose("Open", conversation.id)
    dashboard.wait_drawn("Conversations")
    expect(dashboard.page.locator('[data-testid="stText"]').first).to_be_visible()
    assert dashboard.texts() == [QUESTION, answer]
    expect(dashboard.exceptions()).to_have_count(0)
    played = dashboard.play_recording()
    # A line of the transcript seeks the recording there, and is the one highlighted.
    assert dashboard.play_from_line(answer) == answer
    dashboard.page.locator(PLAYER).scroll_into_view_if_needed()
    dashboard.screenshot("conversation")
    assert played["error"] is None
    assert played["currentTime"] > 0.5
    duration = float(played["duration"])
    # Close to the conversation's length as the backend recorded it (see the bounds' notes),
    # and to the session as the page lived it, from `ready` to Stop.
    assert conversation.duration_s - TEARDOWN_SLACK_S <= duration
    assert duration <= conversation.duration_s + PADDING_S
    assert abs(duration - page_session_s) <= TEARDOWN_SLACK_S
