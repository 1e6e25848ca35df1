"""The page under its own security headers in Chromium: the policy the static server
sends (the same as frontend/firebase.json's, with the local backend) is enforced, nothing
the page does violates it, and a conversation still works.

The page's files, worklets and the backend's WebSocket and /api/videos are all loaded
under the policy; a forbidden connection made on purpose at the end shows that
violations would be seen.
"""

from __future__ import annotations

import urllib.request

import pytest
from bench._browser import Stack
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, OpenPage

pytestmark = pytest.mark.slow

#: Collects `securitypolicyviolation` events from before the page's first script runs.
VIOLATION_LOG = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push({directive: e.effectiveDirective, blocked: e.blockedURI});
});
"""
QUESTION = "what is your name"


def test_the_page_satisfies_its_policy_through_a_conversation(
    stack: Stack, open_page: OpenPage
) -> None:
    with urllib.request.urlopen(stack.frontend_url, timeout=10) as answer:
        headers = answer.headers
    csp = headers["Content-Security-Policy"]
    assert f"ws://127.0.0.1:{stack.backend_port}" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"

    # avatar=video: with no clips on the backend the page also asks /api/videos.
    page = open_page(stack.page_url(autostart="0", avatar="video"))
    page.page.add_init_script(VIOLATION_LOG)
    page.page.reload()
    page.testid("start").click()
    expect(page.testid("send")).to_be_enabled(timeout=TURN_TIMEOUT_MS)
    page.wait_for("h.connected")
    page.testid("text-input").fill(QUESTION)
    page.testid("send").click()
    page.wait_for_answer_audio()
    page.wait_event("turn_complete")
    expect(page.transcript("model")).to_have_count(1, timeout=TURN_TIMEOUT_MS)
    page.wait_event("avatar-mode")

    assert page.page.evaluate("window.__cspViolations") == []
    assert not [line for line in page.console if "Content Security Policy" in line]

    page.page.evaluate(
        "() => { try { new WebSocket('ws://127.0.0.1:9/forbidden'); } catch (e) {} }"
    )
    page.page.wait_for_function("window.__cspViolations.length > 0", timeout=TURN_TIMEOUT_MS)
    violation = page.page.evaluate("window.__cspViolations[0]")
    assert violation["directive"] == "connect-src"
