"""No secret on any dashboard page or in its log lines (the backend: security/test_no_secrets.py).

The dashboard holds the admin token, the media signing secret and the Live API key. It
is signed in with distinctive values for each, every page is rendered over the seeded
store, and everything rendered (each element's protobuf, which is what the browser
receives) and every log line are searched for them. The `liveavatar dashboard` process,
at DEBUG, is searched the same way: its output and its HTTP answers, one of them to a URL
carrying the admin token.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from liveavatar.dashboard.serve import wait_healthy
from tests.integration.dashboard.conftest import Seeded, new_app, open_page, sign_in, titles
from tests.integration.dashboard.test_guard import PAGES
from tests.integration.test_cli import _dashboard, _stop

ADMIN_TOKEN = "LEAK-dashboard-admin-9m8n7b6v5c4x"
MEDIA_SECRET = "LEAK-dashboard-media-2s3d4f5g6h7j"
API_KEY = "AIzaSyLEAK-dashboard-key-1q2w3e4r"
SECRETS = [ADMIN_TOKEN, MEDIA_SECRET, API_KEY]


def rendered(at: AppTest) -> str:
    """What the page sends the browser: every element's message, as text."""
    parts: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def variants(secret: str) -> list[str]:
    return [secret, json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()[:-4]]


def test_no_page_and_no_log_line_shows_a_secret(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("MEDIA_SIGNING_SECRET", MEDIA_SECRET)
    monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
    caplog.set_level(logging.DEBUG)
    at = sign_in(new_app(), ADMIN_TOKEN)
    pages = {}
    for url_path, title in PAGES.items():
        open_page(at, url_path)
        assert not at.exception and titles(at) == [title], url_path
        pages[url_path] = rendered(at)
        assert title in pages[url_path]  # what is searched is what was shown
    assert "alice@example.com" in pages["users"]  # tables too, not only headings
    logs = "\n".join(f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for secret in SECRETS:
        for variant in variants(secret):
            assert [page for page, text in pages.items() if variant in text] == []
            assert variant not in logs


def test_the_dashboard_process_logs_and_answers_no_secret(tmp_path: Path) -> None:
    env = {"ADMIN_TOKEN": ADMIN_TOKEN, "MEDIA_SIGNING_SECRET": MEDIA_SECRET}
    proc, port, log = _dashboard(tmp_path, **env, GEMINI_API_KEY=API_KEY, LOG_LEVEL="DEBUG")
    answers = []
    try:
        assert wait_healthy("127.0.0.1", port, proc, timeout_s=60), log.read_text()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            for path in ("/", "/_stcore/health", "/_stcore/host-config", "/users"):
                answer = http.get(path, params={"admin_token": ADMIN_TOKEN})
                answers.append(f"{answer.headers}\n{answer.text}")
    finally:
        _stop(proc)
    output = log.read_text(errors="replace")
    assert "serving http://localhost" in output  # the output searched is the process's
    for secret in SECRETS:
        for variant in variants(secret):
            assert variant not in output
            assert [a for a in answers if variant in a] == []
