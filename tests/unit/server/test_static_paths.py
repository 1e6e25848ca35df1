"""Which decoded URL paths the static server publishes."""

from __future__ import annotations

import pytest

from liveavatar.server.static import is_public


@pytest.mark.parametrize(
    "path",
    [
        "/index.html",
        "/config.js",
        "/styles.css",
        "/deploy-config.json",
        "/widget.js",
        "/widget.css",
        "/js/app.js",
        "/worklets/capture-processor.js",
        "/avatar/idle.webm",
        "/avatar/poses/smile.PNG",
        "/vendor/lib/module.mjs",
    ],
)
def test_the_page_files_are_public(path: str) -> None:
    assert is_public(path)


@pytest.mark.parametrize(
    "path",
    [
        "/README.md",
        "/package.json",
        "/firebase.json",
        "/tests/config.test.mjs",
        "/tests/worklet-harness.mjs",
        "/.env",
        "/.git/config",
        "/js/.hidden.js",
        "/js/../README.md",
        "/js/./app.js",
        "/js//app.js",
        "/js/",
        "/js",
        "/js/app.js.map",
        "/js\\..\\README.md",
        "/js/%2e%2e/README.md",  # what a doubly encoded %252e%252e decodes to once
        "/js/app.js\x00.png",
        "/avatar/notes.txt",
        "/worklets/capture-processor.ts",
        "/C:/windows/win.ini",
        "js/app.js",
        "",
    ],
)
def test_everything_else_is_not(path: str) -> None:
    assert not is_public(path)
