"""A page object for the avatar page: waits on `window.__liveavatar` and the data-testid
elements, and saves screenshots to test-artifacts/e2e/.

Every wait is a deadline on a condition evaluated inside the page, never a fixed sleep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._browser import REPO
from playwright.sync_api import Locator, Page

ARTIFACTS = REPO / "test-artifacts" / "e2e"
#: Generous: the emulator recognises speech on a shared 2-core machine.
TURN_TIMEOUT_MS = 30_000


def selector(testid: str) -> str:
    """CSS selector of the element with this data-testid."""
    return f'[data-testid="{testid}"]'


class AvatarPage:
    """The page of one test; `name` prefixes its screenshots."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
        #: console lines and uncaught errors of the page, for failure dumps
        self.console: list[str] = []

    # ---- reading -------------------------------------------------------------------------

    def hook(self, expression: str) -> Any:
        """Evaluate `expression` with `h` bound to `window.__liveavatar`."""
        return self.page.evaluate(
            f"() => {{ const h = window.__liveavatar; return {expression}; }}"
        )

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The page's event log (`__liveavatar.events`), optionally of one type."""
        events: list[dict[str, Any]] = self.hook("h.events")
        return [e for e in events if kind is None or e["type"] == kind]

    def probe(self) -> dict[str, Any]:
        """The 5 ms samples of bench._browser.PROBE_SCRIPT (t, level, mouth, speaking)."""
        probe: dict[str, Any] = self.page.evaluate("window.__probe")
        return probe

    def testid(self, testid: str) -> Locator:
        return self.page.locator(selector(testid))

    def transcript(self, role: str, *, final: bool = True) -> Locator:
        """Transcript entries of `role` (only final ones unless `final` is False)."""
        css = f'{selector("transcript")} .entry[data-role="{role}"]'
        return self.page.locator(css + ('[data-final="true"]' if final else ""))

    # ---- waiting -------------------------------------------------------------------------

    def wait_for(
        self, condition: str, arg: Any = None, *, timeout_ms: int = TURN_TIMEOUT_MS
    ) -> None:
        """Wait until the JS `condition` (over `h` = __liveavatar and `arg`) is truthy.

        Polled every animation frame inside the page, so a condition that holds for a
        few frames (a mouth that opens during a one-second answer) is not missed.
        """
        self.page.wait_for_function(
            "([arg]) => { const h = window.__liveavatar; return !!h && !!(" + condition + "); }",
            arg=[arg],
            timeout=timeout_ms,
        )

    def wait_state(self, *states: str, timeout_ms: int = TURN_TIMEOUT_MS) -> str:
        """Wait for one of `states` and return it."""
        self.wait_for("arg.includes(h.state)", list(states), timeout_ms=timeout_ms)
        return str(self.hook("h.state"))

    def wait_event(self, kind: str, *, after: int = 0, timeout_ms: int = TURN_TIMEOUT_MS) -> int:
        """Wait until more than `after` events of `kind` were logged; return the count."""
        self.wait_for(
            "h.events.filter((e) => e.type === arg.kind).length > arg.after",
            {"kind": kind, "after": after},
            timeout_ms=timeout_ms,
        )
        return len(self.events(kind))

    def mic_time_ms(self) -> float:
        """Where the fake microphone's WAV is now, in ms from its start.

        Chromium starts the file when getUserMedia opens the device, a moment before the
        page logs `mic-started`, so this is at most a few ms behind the file.
        """
        elapsed: float = self.hook(
            "performance.now() - h.events.find((e) => e.type === 'mic-started').t"
        )
        return elapsed

    def wait_mic_time(self, ms: float, *, timeout_ms: int = TURN_TIMEOUT_MS) -> None:
        """Wait until the fake microphone's WAV has played up to `ms` (see mic_time_ms)."""
        self.wait_for(
            "(() => { const m = h.events.find((e) => e.type === 'mic-started');"
            " return m && performance.now() - m.t >= arg; })()",
            ms,
            timeout_ms=timeout_ms,
        )

    def wait_for_answer_audio(self, *, timeout_ms: int = TURN_TIMEOUT_MS) -> None:
        """Wait until outputLevel() > 0.01 was seen while the state was `speaking`.

        Reads the probe's peak (sampled every 5 ms since the last `reset_peaks()`), so a
        short answer that ends between two polls of this wait still counts.
        """
        self.wait_for("window.__probe.peakSpeakingLevel > 0.01", timeout_ms=timeout_ms)

    def wait_for_mouth_open(self, *, timeout_ms: int = TURN_TIMEOUT_MS) -> None:
        """Wait until mouthOpenness() > 0.2 was seen (since the last `reset_peaks()`)."""
        self.wait_for("window.__probe.peakMouth > 0.2", timeout_ms=timeout_ms)

    def reset_peaks(self) -> None:
        self.page.evaluate("window.__probe.peakSpeakingLevel = 0; window.__probe.peakMouth = 0")

    def wait_quiet(self, *, timeout_ms: int = TURN_TIMEOUT_MS) -> None:
        """Wait until playback stopped and the mouth is back at rest."""
        self.wait_for(
            "h.state !== 'speaking' && h.outputLevel() < 0.001 && h.mouthOpenness() < 0.05",
            timeout_ms=timeout_ms,
        )

    # ---- artifacts -----------------------------------------------------------------------

    def screenshot(self, label: str) -> Path:
        """Save the page as test-artifacts/e2e/<test>-<label>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.page.screenshot(path=str(path))
        return path

    def dump(self, label: str = "failed") -> None:
        """Save a screenshot and the event log (for a failed test)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            self.screenshot(label)
            state = self.hook("{state: h.state, connected: h.connected, lastError: h.lastError}")
            log = {"hooks": state, "events": self.events(), "console": self.console}
        except Exception as exc:  # the page may be gone; the dump is best effort
            log = {"error": repr(exc)}
        path = ARTIFACTS / f"{self.name}-{label}.json"
        path.write_text(json.dumps(log, indent=1, default=str))


#: The `open_page` fixture: `open_page(url, audio=MicAudio | None, grant_mic=True,
#: extra_args=())`.
OpenPage = Callable[..., AvatarPage]
