"""Firebase Hosting serves the page with the same headers as the product defines."""

from __future__ import annotations

import json
from pathlib import Path

from liveavatar.server.security import hosting_headers

FIREBASE_JSON = Path(__file__).resolve().parents[3] / "frontend" / "firebase.json"


def test_firebase_json_sends_the_hosting_headers() -> None:
    rules = json.loads(FIREBASE_JSON.read_text())["hosting"]["headers"]
    everything = [rule for rule in rules if rule["source"] == "**"]
    assert len(everything) == 1, "one rule carries the security headers for every file"
    written = [(h["key"], h["value"]) for h in everything[0]["headers"]]
    assert written == hosting_headers()


def test_hosting_does_not_publish_the_folder_s_other_files() -> None:
    ignored = json.loads(FIREBASE_JSON.read_text())["hosting"]["ignore"]
    for pattern in ("firebase.json", "package.json", "README.md", "tests/**", "**/.*"):
        assert pattern in ignored
