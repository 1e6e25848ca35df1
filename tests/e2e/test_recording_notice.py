"""The recording notice in Chromium: with the persona's recording on, the page says so next
to Start before the microphone opens; with it off, it says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench._browser import Stack, liveavatar_up
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.support.personas import save_builtin_persona_blocking

pytestmark = pytest.mark.slow


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
    save_builtin_persona_blocking(tmp_path / "data", recording=True)
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
