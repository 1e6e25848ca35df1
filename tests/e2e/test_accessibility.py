"""The page with a keyboard and a screen reader: every control reachable with Tab and
showing where the focus is, operated from the keyboard alone (Start, Mute, the check
boxes, typing, Stop); the transcript read out once per line as it becomes final; and
axe-core finding no serious or critical violation, idle and mid-conversation. (The
widget's keyboard path and axe run are in test_widget.py.)
"""

from __future__ import annotations

import pytest
from bench._browser import Stack
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.axe import axe_violations

pytestmark = pytest.mark.slow

QUESTION = "what is your name"

#: The visible, enabled elements the keyboard should reach, by data-testid or class.
FOCUSABLE = """
() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
  .filter((el) => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length > 0)
  .filter((el) => getComputedStyle(el).visibility !== 'hidden')
  .map((el) => el.dataset.testid || el.className)
"""

#: The focused element's name, and whether its focus shows (an outline or a ring).
FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return ['', false];
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const ring = outline || s.boxShadow !== 'none';
  return [el.dataset.testid || el.className, ring && el.matches(':focus-visible')];
}
"""


def tab_through(page: AvatarPage) -> dict[str, bool]:
    """Press Tab until the focus comes round to an element it was on (passing through
    the browser's own interface on the way); what was focused, and whether each showed
    its focus."""
    reached: dict[str, bool] = {}
    for _ in range(60):
        page.page.keyboard.press("Tab")
        name, shown = page.page.evaluate(FOCUSED)
        if name in reached:
            break
        if name:
            reached[name] = shown
    return reached


def assert_keyboard_reaches_everything(page: AvatarPage) -> None:
    expected = page.page.evaluate(FOCUSABLE)
    reached = tab_through(page)
    assert sorted(reached) == sorted(expected), "every control is reachable with Tab"
    assert [name for name, shown in reached.items() if not shown] == [], "focus is visible"


def test_the_page_works_from_the_keyboard_and_reads_out_final_lines(
    stack: Stack, open_page: OpenPage
) -> None:
    page = open_page(stack.page_url(autostart="0"))
    p = page.page
    expect(page.testid("start")).to_be_enabled()
    assert axe_violations(p) == []
    assert_keyboard_reaches_everything(page)

    page.testid("start").focus()
    p.keyboard.press("Enter")
    page.wait_state("listening")
    expect(page.testid("send")).to_be_enabled(timeout=TURN_TIMEOUT_MS)
    assert_keyboard_reaches_everything(page)

    mute = page.testid("mute")
    mute.focus()
    p.keyboard.press("Space")
    expect(mute).to_have_attribute("aria-pressed", "true")
    p.keyboard.press("Space")
    expect(mute).to_have_attribute("aria-pressed", "false")
    for box in ("mode", "speakerphone"):  # push-to-talk's Space must not capture its own box
        page.testid(box).focus()
        p.keyboard.press("Space")
        expect(page.testid(box)).to_be_checked()
        p.keyboard.press("Space")
        expect(page.testid(box)).not_to_be_checked()

    page.testid("text-input").focus()
    p.keyboard.type(QUESTION)
    p.keyboard.press("Enter")
    page.wait_event("turn_complete")
    answer = page.transcript("model")
    expect(answer).to_have_count(1, timeout=TURN_TIMEOUT_MS)

    # Screen readers hear each line once, final, from the announcer; the transcript
    # itself is not a live region (it would read every partial update).
    announcer = page.testid("announcer")
    expect(announcer.locator("p")).to_have_text(
        [f"You: {QUESTION}", f"Avatar: {answer.inner_text().strip()}"], timeout=TURN_TIMEOUT_MS
    )
    assert page.testid("transcript").get_attribute("aria-live") is None
    assert announcer.get_attribute("aria-live") == "polite"
    assert axe_violations(p) == []

    page.testid("stop").focus()
    p.keyboard.press("Enter")
    page.wait_state("idle")
