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


def test_hosting_lets_other_sites_load_the_widget_and_its_modules() -> None:
    """widget.js runs in other sites' pages and loads the page's modules, worklets,
    stylesheets and index.html from Hosting, and deploy-config.json (whether its visitors
    sign in, and with which Firebase project): those need CORS, in both firebase.json files."""
    for path in (FIREBASE_JSON, FIREBASE_JSON.parents[1] / "deploy" / "firebase.json"):
        rules = json.loads(path.read_text())["hosting"]["headers"]
        cors = [
            rule["source"]
            for rule in rules
            if {"key": "Access-Control-Allow-Origin", "value": "*"} in rule["headers"]
        ]
        assert cors == ["**/*.@(js|mjs|css|html)", "/deploy-config.json"], path
