"""The recording notice in Chromium: with the persona's recording on, the page says so next
to Start before the microphone opens; with it off, it says nothing."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from bench._browser import Stack, liveavatar_up
from playwright.sync_api import expect

from liveavatar.live.persona import Persona
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore
from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage

pytestmark = pytest.mark.slow


async def save_recording_persona(data_dir: Path) -> None:
    """The built-in persona with recording on, saved as the dashboard saves it."""
    base = Persona()
    store = SQLiteStore(data_dir / DB_FILENAME)
    try:
        await store.put_persona(
            PersonaConfig(
                name=base.name,
                model=base.model,
                voice=base.voice,
                system_instruction=base.system_instruction,
                tools=list(base.tools),
                recording=True,
            ),
            expected_version=0,
        )
    finally:
        await store.close()


def start_and_wait_for_the_mic(page: AvatarPage) -> list[dict[str, object]]:
    """Click Start; the page's events up to the microphone opening."""
    page.wait_event("recording-notice")  # the settings were read at load
    assert page.events("mic-started") == []
    page.testid("start").click()
    page.wait_event("mic-started", timeout_ms=TURN_TIMEOUT_MS)
    events = page.events()
    opened = next(i for i, e in enumerate(events) if e["type"] == "mic-started")
    return events[:opened]


def test_the_recording_notice_shows_before_the_microphone_opens(
    tmp_path: Path, open_page: OpenPage
) -> None:
    (tmp_path / "data").mkdir()
    # In a thread of its own: Playwright's sync API already runs a loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, save_recording_persona(tmp_path / "data")).result()
    with liveavatar_up(tmp_path) as stack:
        page = open_page(stack.page_url(autostart="0"))
        notice = page.testid("recording-notice")
        expect(notice).to_be_visible(timeout=TURN_TIMEOUT_MS)
        expect(notice).to_have_text("This conversation is recorded.")
        expect(notice).to_have_attribute("role", "note")
        assert page.testid("start").get_attribute("aria-describedby") == "recording-notice"
        page.screenshot("notice-before-start")
        before_mic = start_and_wait_for_the_mic(page)
        notices = [e for e in before_mic if e["type"] == "recording-notice"]
        # Read again at Start, and shown, before the microphone opened.
        assert len(notices) == 2 and all(e["shown"] and e["recording"] for e in notices)
        expect(notice).to_be_visible()
        page.screenshot("notice-while-talking")


def test_no_notice_when_the_persona_does_not_record(stack: Stack, open_page: OpenPage) -> None:
    page = open_page(stack.page_url(autostart="0"))
    before_mic = start_and_wait_for_the_mic(page)
    notices = [e for e in before_mic if e["type"] == "recording-notice"]
    assert notices and not any(e["shown"] for e in notices)
    assert all(e["recording"] is False for e in notices)
    expect(page.testid("recording-notice")).to_be_hidden()
