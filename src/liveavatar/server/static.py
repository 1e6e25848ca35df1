"""The local static server for the frontend (Firebase Hosting serves the same files in
production, with the same headers from frontend/firebase.json).

Only what the page loads is published: index.html at /, config.js, styles.css, the
deploy-time deploy-config.json, the embeddable widget's widget.js and widget.css, and the
files under js/, worklets/, avatar/ and vendor/ with the extensions those folders hold.
Every published file may be read from any site (`Access-Control-Allow-Origin: *`): the
widget loads the page's modules, worklets and markup into other sites' pages.
Everything else in the folder (README.md, package.json, firebase.json, tests/,
dotfiles) is a 404, and so is any path with an empty,
`.`, `..` or hidden segment, a backslash or a leftover percent sign, however it was
encoded on the wire (uvicorn has decoded %XX before we look).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from liveavatar.settings import Settings

from .security import EMBEDDABLE, SecurityHeaders, page_headers

#: Files at the top of the folder that the page loads (deploy-config.json exists only
#: where a deploy wrote it).
ROOT_FILES = frozenset(
    {"index.html", "config.js", "styles.css", "deploy-config.json", "widget.js", "widget.css"}
)
_SCRIPTS = frozenset({".js"})
_MEDIA = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif", ".svg", ".mp4", ".webm"})
#: Folders the page loads from, with the extensions published under each.
TREES: dict[str, frozenset[str]] = {
    "js": _SCRIPTS,
    "worklets": _SCRIPTS,
    "avatar": _MEDIA,
    "vendor": _SCRIPTS | _MEDIA | {".mjs", ".css", ".wasm", ".woff2", ".json"},
}
_BAD_CHARS = frozenset("\\%:\x00")


def is_public(path: str) -> bool:
    """Whether the decoded URL `path` names a file the page needs."""
    if not path.startswith("/"):
        return False
    segments = path[1:].split("/")
    if any(not s or s.startswith(".") or _BAD_CHARS.intersection(s) for s in segments):
        return False
    if len(segments) == 1:
        return segments[0] in ROOT_FILES
    allowed = TREES.get(segments[0])
    return allowed is not None and PurePosixPath(segments[-1]).suffix.lower() in allowed


class _Allowlist:
    """Pass public paths (and / as /index.html) to `files`; 404 for the rest."""

    def __init__(self, files: ASGIApp) -> None:
        self.files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"]
        if path == "/":
            scope = {**scope, "path": "/index.html", "raw_path": b"/index.html"}
        elif not is_public(path):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.files(scope, receive, send)


def create_static_app(directory: Path, settings: Settings) -> Starlette:
    """Serve the page in `directory` with the page's security headers and no caching."""
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"no index.html in {directory}")
    # Local development: a reload always gets the files as they are on disk.
    headers = [*page_headers(settings), ("Cache-Control", "no-store"), EMBEDDABLE]
    files = _Allowlist(StaticFiles(directory=directory))
    return Starlette(
        routes=[Mount("/", app=files)],
        middleware=[Middleware(SecurityHeaders, headers=headers)],
    )
