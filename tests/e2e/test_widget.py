"""The widget on someone else's website: a host page served from another origin loads
widget.js with one script tag. On a site the backend allows, spoken and typed turns work
in the panel, driven from the keyboard; closing the panel releases the microphone and
closes the socket. On a site it does not allow, the panel says so and no microphone is
opened. Neither page's styles reach the other, and axe-core finds no serious or critical
violation in the widget.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from bench._browser import Stack, mic_audio
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage
from tests.e2e.axe import axe_violations
from tests.e2e.conftest import HostSites

pytestmark = pytest.mark.slow

QUESTION = "what is your name"
TYPED = "hello there"

#: The host's own styles: inherited fonts and colours, a root font size, and rules on
#: class names the widget uses too. None of it may reach the widget.
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop</title>
<style>
  html {{ font-size: 10px; }}
  body {{ font: 13px Georgia, serif; color: rgb(200, 0, 0); letter-spacing: 3px; }}
  button {{ background: rgb(0, 128, 0); color: rgb(255, 255, 0); padding: 40px; border-radius: 0; }}
  .controls, .status, .transcript {{ display: none; }}
  .primary {{ font-size: 40px; }}
</style></head>
<body>
<main><h1>Welcome to the shop</h1><button id="buy" type="button">Buy</button></main>
<script src="{frontend}widget.js" data-backend="{backend}" data-avatar="drawn" async></script>
</body></html>
"""

#: The widget's shadow root, in the page's JavaScript.
WIDGET = "document.querySelector('liveavatar-widget').shadowRoot"

#: Every microphone track and WebSocket the page opens, for the test to inspect.
MEDIA_SPY = """
(() => {
  const seen = { tracks: [], sockets: [], micRequests: 0 };
  window.__media = seen;
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = async (constraints) => {
    if (constraints && constraints.audio) seen.micRequests++;
    const stream = await gum(constraints);
    seen.tracks.push(...stream.getTracks());
    return stream;
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); seen.sockets.push(this); }
  };
})();
"""


def open_host(open_page: OpenPage, site: Any, stack: Stack, **kwargs: Any) -> AvatarPage:
    site.pages["/shop"] = HOST_PAGE.format(frontend=stack.frontend_url, backend=stack.backend_ws)
    page = open_page(site.url("/shop"), init_scripts=[MEDIA_SPY], **kwargs)
    expect(page.testid("widget-open")).to_be_visible()
    return page


def shadow_active(page: AvatarPage) -> str:
    """The data-testid (or class) of the focused element inside the widget."""
    return str(
        page.page.evaluate(
            f"() => {{ const a = {WIDGET}.activeElement;"
            " return a ? (a.dataset.testid || a.className) : ''; }"
        )
    )


def computed(page: AvatarPage, js_element: str, *props: str) -> dict[str, str]:
    css: dict[str, str] = page.page.evaluate(
        f"(props) => {{ const s = getComputedStyle({js_element});"
        " return Object.fromEntries(props.map((p) => [p, s.getPropertyValue(p)])); }",
        list(props),
    )
    return css


def test_on_an_allowed_site_the_widget_talks_and_types_and_closes_cleanly(
    stack: Stack, open_page: OpenPage, host_sites: HostSites
) -> None:
    page = open_host(open_page, host_sites.allowed, stack, audio=mic_audio(QUESTION))
    p = page.page

    # Keyboard only: Tab from the host's own button reaches the floating button.
    p.locator("#buy").focus()
    p.keyboard.press("Tab")
    assert shadow_active(page) == "widget-open"
    p.keyboard.press("Enter")
    expect(page.testid("widget-panel")).to_be_visible()
    expect(page.testid("start")).to_be_enabled()
    page.wait_for(f"{WIDGET}.activeElement?.dataset.testid === 'start'")
    page.screenshot("panel-open")
    p.keyboard.press("Enter")  # Start, from the keyboard: a user gesture for the audio

    expect(page.transcript("user")).to_have_text(QUESTION, timeout=TURN_TIMEOUT_MS)
    page.wait_for_answer_audio()
    page.wait_event("turn_complete")
    expect(page.transcript("model")).to_have_count(1)
    page.wait_for("window.__media.sockets.some((s) => s.readyState === 1)")
    assert page.hook("h.events.filter((e) => e.type === 'mic-started').length") == 1

    page.testid("text-input").fill(TYPED)
    page.testid("text-input").press("Enter")
    expect(page.transcript("user")).to_have_count(2, timeout=TURN_TIMEOUT_MS)
    page.wait_event("turn_complete", after=1)
    expect(page.transcript("model")).to_have_count(2, timeout=TURN_TIMEOUT_MS)
    expect(page.testid("error")).to_be_hidden()
    page.screenshot("after-turns")
    assert axe_violations(p, "liveavatar-widget") == []

    # No style leaks either way: the host's button keeps the host's look, the widget's
    # controls keep theirs whatever the host's inherited fonts and colours are.
    assert computed(page, "document.querySelector('#buy')", "background-color", "padding-top") == {
        "background-color": "rgb(0, 128, 0)",
        "padding-top": "40px",
    }
    start = computed(
        page,
        f"{WIDGET}.querySelector('[data-testid=start]')",
        "font-family",
        "letter-spacing",
        "font-size",
        "padding-top",
        "background-color",
    )
    assert "Georgia" not in start["font-family"]
    assert start["letter-spacing"] == "normal"
    assert start["font-size"] == "16px"
    assert start["padding-top"] == "8.8px"  # 0.55em of 16 px, whatever the host's root size
    assert start["background-color"] != "rgb(0, 128, 0)"
    assert computed(page, f"{WIDGET}.querySelector('.controls')", "display")["display"] == "flex"

    # Escape closes the panel: focus back on the button, microphone and socket released.
    page.testid("text-input").focus()
    p.keyboard.press("Escape")
    expect(page.testid("widget-panel")).to_be_hidden()
    assert shadow_active(page) == "widget-open"
    page.wait_for(
        "window.__media.tracks.length > 0"
        " && window.__media.tracks.every((t) => t.readyState === 'ended')"
        " && window.__media.sockets.every((s) => s.readyState === WebSocket.CLOSED)"
    )
    assert page.hook("h.state") == "idle"


def test_on_a_site_the_backend_does_not_allow_the_widget_says_so_and_opens_no_microphone(
    stack: Stack, open_page: OpenPage, host_sites: HostSites
) -> None:
    page = open_host(open_page, host_sites.refused, stack)
    page.testid("widget-open").click()
    banner = page.testid("error")
    expect(banner).to_have_attribute("data-code", "origin_refused", timeout=TURN_TIMEOUT_MS)
    expect(banner).to_contain_text(re.compile("does not accept conversations from this website"))
    expect(banner).to_contain_text(host_sites.refused.origin)
    page.testid("start").click()
    expect(page.testid("status")).to_have_attribute("data-state", "error", timeout=TURN_TIMEOUT_MS)
    expect(banner).to_have_attribute("data-code", "origin_refused")
    page.screenshot("refused")
    assert axe_violations(page.page, "liveavatar-widget") == []
    assert page.page.evaluate("window.__media.micRequests") == 0
    assert not page.events("mic-started")
