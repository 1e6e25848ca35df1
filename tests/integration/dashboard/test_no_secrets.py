"""No secret on any dashboard page or in its log lines (the backend: security/test_no_secrets.py).

The dashboard holds the admin token, the media signing secret and the Live API key. It
is signed in with distinctive values for each, every page is rendered over the seeded
store, and everything rendered (each element's protobuf, which is what the browser
receives) and every log line are searched for them.
"""

from __future__ import annotations

import base64
import json
import logging

import pytest
from streamlit.testing.v1 import AppTest

from tests.integration.dashboard.conftest import Seeded, new_app, open_page, sign_in, titles
from tests.integration.dashboard.test_guard import PAGES

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
