"""The page on phones, in Chromium's mobile emulation: the layout at 360×640 and 390×844
(nothing overlaps or overflows, every control at least 44 px, screenshots in
test-artifacts/e2e/), one AudioContext made in the first tap and kept across
conversations, and half duplex when the microphone reports echo cancellation off: the
microphone closed while the avatar speaks, a tap interrupting it.
"""

from __future__ import annotations

from typing import Any

import pytest
from bench._browser import Stack, mic_audio
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.phone_checks import LAYOUT_CHECK, NO_ECHO_CANCELLATION, SPY_SCRIPT

pytestmark = pytest.mark.slow

QUESTION = "what is your name"
#: Answered with a two-sentence joke (about 5 s of speech).
LONG_QUESTION = "tell me a joke"
GREETING = "hello there"


def phone(width: int, height: int) -> dict[str, Any]:
    """Browser context options of a phone with this CSS viewport."""
    return {
        "viewport": {"width": width, "height": height},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    }


def assert_layout_fits(page: AvatarPage) -> None:
    layout = page.page.evaluate(LAYOUT_CHECK)
    assert layout["scrollWidth"] <= layout["vw"], layout
    assert layout["scrollHeight"] <= layout["vh"], f"the page scrolls: {layout}"
    assert layout["outside"] == [], layout
    assert layout["overlaps"] == [], layout
    assert layout["small"] == [], layout


@pytest.mark.parametrize(("width", "height"), [(360, 640), (390, 844)])
def test_the_page_fits_a_phone_and_keeps_one_audio_context(
    stack: Stack, open_page: OpenPage, width: int, height: int
) -> None:
    page = open_page(
        stack.page_url(autostart="0"), init_scripts=[SPY_SCRIPT], **phone(width, height)
    )
    expect(page.testid("start")).to_be_enabled()
    page.screenshot(f"{width}x{height}-idle")
    assert_layout_fits(page)

    # The first tap anywhere on the page makes the one AudioContext and resumes it.
    assert page.page.evaluate("window.__spy.contexts.length") == 0
    page.page.tap("h1")
    page.wait_for("window.__spy.contexts.length === 1")
    page.wait_for("window.__spy.contexts[0].state === 'running'")

    page.page.tap('[data-testid="start"]')
    page.wait_state("listening")
    assert page.events("duplex")[-1]["mode"] == "full"  # Chromium cancels echo
    page.testid("text-input").fill(QUESTION)
    page.page.tap('[data-testid="send"]')
    page.wait_event("turn_complete")
    expect(page.transcript("model")).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    page.screenshot(f"{width}x{height}-answered")
    assert_layout_fits(page)

    # Stop and Start again: the same context, suspended in between.
    page.page.tap('[data-testid="stop"]')
    page.wait_for("h.state === 'idle' && window.__spy.contexts[0].state === 'suspended'")
    page.page.tap('[data-testid="start"]')
    page.wait_state("listening")
    page.wait_for("window.__spy.contexts[0].state === 'running'")
    assert page.page.evaluate("window.__spy.contexts.length") == 1

    # Speakerphone mode: half duplex although the browser cancels echo.
    page.page.tap('[data-testid="speakerphone"]')
    page.wait_for("h.duplex === 'half'")
    assert page.events("duplex")[-1]["reason"] == "speakerphone"


def test_without_echo_cancellation_the_microphone_closes_while_the_avatar_speaks(
    stack: Stack, open_page: OpenPage
) -> None:
    # The greeting is said a second into the joke: full duplex would be interrupted by it.
    audio = mic_audio(LONG_QUESTION, tail_ms=0)
    audio.pad_to(audio.phrases[0].start_ms + 3_000).say(GREETING).pause(1_000)
    page = open_page(
        stack.page_url(),
        audio=audio,
        init_scripts=[SPY_SCRIPT, NO_ECHO_CANCELLATION],
        **phone(390, 844),
    )
    page.wait_event("duplex")
    duplex = page.events("duplex")[-1]
    assert (duplex["mode"], duplex["reason"]) == ("half", "no-echo-cancellation")
    assert page.page.evaluate("window.__spy.tracks[0].getSettings().echoCancellation") is False

    expect(page.transcript("user")).to_have_text(LONG_QUESTION, timeout=TURN_TIMEOUT_MS)
    page.wait_for_answer_audio()
    page.wait_event("turn_complete")
    page.wait_event("playback-stopped")
    page.screenshot("half-duplex-answered")
    assert not page.events("interrupted"), "the avatar was not cut off by the greeting"
    expect(page.transcript("user")).to_have_count(1)
    started = page.events("playback-started")[0]["t"]
    stopped = page.events("playback-stopped")[0]["t"]
    sent: list[float] = page.page.evaluate("window.__spy.sent")
    assert any(t < started for t in sent), "the question was sent"
    assert [t for t in sent if started < t < stopped] == [], "no audio left while it spoke"

    # A tap on the avatar while it speaks stops it here, and the microphone opens.
    page.testid("text-input").fill(LONG_QUESTION)
    page.testid("send").click()
    page.wait_state("speaking")
    expect(page.testid("interrupt")).to_be_visible()
    page.screenshot("half-duplex-speaking")
    page.page.tap("[data-avatar]")
    page.wait_event("tap-interrupt")
    page.wait_event("flushed")
    tapped = page.events("tap-interrupt")[0]["t"]
    page.wait_for("window.__spy.sent.some((t) => t > arg)", tapped)  # the microphone is open
    expect(page.testid("interrupt")).to_be_hidden()
    page.wait_event("turn_complete", after=1)
    later = [e for e in page.events("playback-started") if e["t"] > tapped]
    assert later == [], "the rest of the cut answer was not played"
