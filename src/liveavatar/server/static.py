"""The local static server for the frontend (Firebase Hosting serves the same files in
production)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles


class _NoStore(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        # Local development: a reload always gets the files as they are on disk.
        response.headers["Cache-Control"] = "no-store"
        return response


def create_static_app(directory: Path) -> Starlette:
    """Serve `directory` (index.html at /) with no caching."""
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"no index.html in {directory}")
    app = Starlette(middleware=[Middleware(_NoStore)])
    app.mount("/", StaticFiles(directory=directory, html=True), name="frontend")
    return app
