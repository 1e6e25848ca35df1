"""A page object for the Streamlit dashboard in Chromium: sign in, move between pages the
way an admin does (the sidebar, so the signed-in session is kept), read what a page shows,
and play a conversation's recording.

Streamlit marks its app root with the script's state (`data-test-script-state`): a page
is drawn once its title is on screen and the script is no longer running. Every wait is a
deadline on such a condition, never a fixed sleep.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Frame, Locator, Page, expect

from tests.e2e.avatar_page import ARTIFACTS

#: A cold Streamlit start imports the app and opens the store on a loaded 2-core machine.
PAGE_TIMEOUT_MS = 60_000
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
#: What Streamlit draws while an element's code is still loading, and a chart not yet drawn.
LOADING = '[data-testid="stSkeleton"]'
UNDRAWN_CHART = '[data-testid="stVegaLiteChart"]:not(:has(canvas, svg))'
#: The recording player's iframe (its page comes as srcdoc, the audio element inside).
PLAYER = """iframe[srcdoc*='<audio id="recording"']"""


class DashboardPage:
    """The dashboard open in one Chromium page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    # ---- waiting -------------------------------------------------------------------------

    def wait_drawn(self, title: str) -> None:
        """Wait until the page titled `title` is on screen and its script has finished."""
        expect(self.heading(title)).to_be_visible(timeout=PAGE_TIMEOUT_MS)
        self.page.locator(IDLE).wait_for(state="attached", timeout=PAGE_TIMEOUT_MS)
        # Elements load their code lazily: a screenshot before this shows grey placeholders.
        expect(self.page.locator(f"{LOADING}, {UNDRAWN_CHART}")).to_have_count(
            0, timeout=PAGE_TIMEOUT_MS
        )

    # ---- acting --------------------------------------------------------------------------

    def sign_in(self, token: str) -> None:
        """Sign in on the form the guard shows; lands on the Overview."""
        self.wait_drawn("Sign in")
        self.page.get_by_label("Admin token").fill(token)
        self.page.get_by_role("button", name="Sign in").click()
        self.wait_drawn("Overview")

    def open(self, title: str) -> None:
        """Go to a page through the sidebar's navigation (the session stays signed in)."""
        nav = self.page.locator('[data-testid="stSidebarNav"]')
        nav.get_by_role("link", name=title, exact=True).click()
        self.wait_drawn(title)

    def choose(self, label: str, option: str) -> None:
        """Pick the option containing `option` in the select box labelled `label`."""
        box = self.page.locator('[data-testid="stSelectbox"]').filter(has_text=label)
        box.click()
        self.page.get_by_role("option").filter(has_text=option).click()

    # ---- reading -------------------------------------------------------------------------

    def heading(self, title: str) -> Locator:
        return self.page.get_by_role("heading", name=title, level=1, exact=True)

    def exceptions(self) -> Locator:
        """Streamlit's exception boxes (an uncaught error in a page's script)."""
        return self.page.locator(EXCEPTION)

    def texts(self) -> list[str]:
        """The `st.text` blocks on the page (the transcript lines of a conversation)."""
        return [t.strip() for t in self.page.locator('[data-testid="stText"]').all_inner_texts()]

    def recording_frame(self) -> Frame:
        """The frame of the recording player: the component iframe holding #recording."""
        iframe = self.page.locator(PLAYER)
        expect(iframe).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
        frame = iframe.element_handle().content_frame()
        assert frame is not None
        frame.locator("#recording").wait_for(state="attached", timeout=PAGE_TIMEOUT_MS)
        return frame

    def play_recording(self) -> dict[str, Any]:
        """Play the recording until it has advanced; its duration, position and state."""
        frame = self.recording_frame()
        frame.wait_for_function(
            "() => { const a = document.getElementById('recording');"
            " return a.readyState >= 1 && Number.isFinite(a.duration); }",
            timeout=PAGE_TIMEOUT_MS,
        )
        frame.evaluate("() => document.getElementById('recording').play()")
        frame.wait_for_function(
            "() => document.getElementById('recording').currentTime > 0.5",
            timeout=PAGE_TIMEOUT_MS,
        )
        state: dict[str, Any] = frame.evaluate(
            "() => { const a = document.getElementById('recording'); a.pause();"
            " return {duration: a.duration, currentTime: a.currentTime, error: a.error"
            " && a.error.code, now: document.querySelector('li.now')?.textContent ?? null}; }"
        )
        return state

    def play_from_line(self, text: str) -> str:
        """Click the player's transcript line holding `text`; the line then highlighted."""
        frame = self.recording_frame()
        frame.locator("#transcript li").filter(has_text=text).click()
        now = frame.locator("#transcript li.now")
        expect(now).to_contain_text(text, timeout=PAGE_TIMEOUT_MS)
        spoken: str = now.evaluate("li => li.lastChild.textContent")
        frame.evaluate("() => document.getElementById('recording').pause()")
        return spoken

    # ---- artifacts -----------------------------------------------------------------------

    def screenshot(self, label: str) -> None:
        """Save the whole page as test-artifacts/e2e/dashboard-<label>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        # Streamlit scrolls inside its own container, so a full-page shot is one screen:
        # make the window as tall as the page for the shot, then put it back.
        size = self.page.viewport_size
        height = self.page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0"
        )
        if size is not None and height > size["height"]:
            self.page.set_viewport_size({"width": size["width"], "height": min(height, 8000)})
            expect(self.page.locator(f"{LOADING}, {UNDRAWN_CHART}")).to_have_count(
                0, timeout=PAGE_TIMEOUT_MS
            )
        try:
            self.page.screenshot(path=str(ARTIFACTS / f"dashboard-{label}.png"), full_page=True)
        finally:
            if size is not None:
                self.page.set_viewport_size(size)
