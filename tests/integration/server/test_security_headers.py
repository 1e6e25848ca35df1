"""Security headers and the static server's allow-list, through the real servers.

Path tricks are sent over raw sockets: HTTP clients normalise `..` and backslashes before
they send, the attacks do not.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.server.security import API_CSP
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.static_server import FRONTEND, static_server

LIMIT_S = 30.0


async def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send `GET <target>` exactly as written; return the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        async with asyncio.timeout(LIMIT_S):
            answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


async def test_backend_responses_carry_the_strict_policy(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator))
    async with httpx.AsyncClient(base_url=backend.http_url) as http:
        for path in ("/healthz", "/api/config", "/no-such-thing"):
            answer = await http.get(path)
            assert answer.headers["content-security-policy"] == API_CSP, path
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "no-referrer"
            assert answer.headers["x-frame-options"] == "DENY"
            assert "strict-transport-security" not in answer.headers  # not production


async def test_the_page_gets_its_policy(emulator: EmulatorServer) -> None:
    settings = backend_settings(emulator, port=8765)
    async with (
        static_server(settings) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "ws://127.0.0.1:8765" in csp and "http://127.0.0.1:8765" in csp
        assert "frame-ancestors 'self'" in csp
        assert page.headers["x-frame-options"] == "SAMEORIGIN"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "microphone=(self)" in page.headers["permissions-policy"]
        assert page.headers["cache-control"] == "no-store"
        module = await http.get("/js/app.js")
        assert module.headers["content-type"].startswith("text/javascript")
        assert module.headers["content-security-policy"] == csp
        # Other sites' pages load the widget, its modules, worklets and markup.
        embeddable = ("/widget.js", "/widget.css", "/js/app.js", "/worklets/capture-processor.js")
        for path in (*embeddable, "/"):
            embedded = await http.get(path, headers={"Origin": "https://shop.example"})
            assert embedded.status_code == 200, path
            assert embedded.headers["access-control-allow-origin"] == "*", path


async def test_an_embeddable_page_names_its_sites(emulator: EmulatorServer) -> None:
    settings = backend_settings(emulator, frame_ancestors=["self", "https://partner.example"])
    async with static_server(settings) as port, httpx.AsyncClient() as http:
        page = await http.get(f"http://127.0.0.1:{port}/")
    assert (
        "frame-ancestors 'self' https://partner.example" in page.headers["content-security-policy"]
    )
    assert "x-frame-options" not in page.headers


@pytest.fixture
def frontend_copy(tmp_path: Path) -> Path:
    """The real frontend plus files that must never be served even though they exist."""
    copy = tmp_path / "frontend"
    shutil.copytree(FRONTEND, copy, ignore=shutil.ignore_patterns("node_modules"))
    (copy / ".env").write_text("SECRET=1\n")
    (copy / "js" / ".hidden.js").write_text("export {};\n")
    (copy / "avatar").mkdir(exist_ok=True)
    (copy / "avatar" / "idle.webm").write_bytes(b"\x1aE\xdf\xa3")
    (copy / "avatar" / "notes.txt").write_text("internal\n")
    return copy


ALLOWED = [
    "/",
    "/index.html",
    "/config.js",
    "/styles.css",
    "/js/app.js",
    "/js/app.js?v=2",
    "/worklets/capture-processor.js",
    "/worklets/playback-processor.js",
    "/avatar/idle.webm",
]
REFUSED = [
    "/README.md",
    "/package.json",
    "/firebase.json",
    "/tests/config.test.mjs",
    "/.env",
    "/js/.hidden.js",
    "/avatar/notes.txt",
    "/js/../README.md",
    "/js/../../pyproject.toml",
    "/js/%2e%2e/README.md",
    "/js/%2E%2E/%2E%2E/pyproject.toml",
    "/js/..%2fREADME.md",
    "/js%2f..%2fREADME.md",
    "/js/%252e%252e/README.md",
    "/js\\..\\README.md",
    "/js/%5c..%5cREADME.md",
    "/%2eenv",
    "/js/",
    "/js",
    "/js//app.js",
    "/js/app.js%00.png",
]


async def test_only_the_page_files_are_served(
    emulator: EmulatorServer, frontend_copy: Path
) -> None:
    async with static_server(backend_settings(emulator), frontend_copy) as port:
        for target in ALLOWED:
            status, _ = await raw_get(port, target)
            assert status == 200, target
        for target in REFUSED:
            status, body = await raw_get(port, target)
            assert status == 404, target
            assert b"SECRET" not in body and b"[project]" not in body
