"""Run the backend under uvicorn with a shutdown that tells browsers before it closes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Coroutine, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from liveavatar.log import install_uvicorn_filters
from liveavatar.protocol import MAX_JSON_FRAME_BYTES
from liveavatar.settings import Settings

from .app import create_app, drain_sessions
from .forwarded import ForwardedClient
from .limits import bounded_http_protocol, raise_open_files_limit
from .static import create_static_app
from .ws_reaping import ReapingWebSocketProtocol

logger = logging.getLogger(__name__)


class GracefulServer(uvicorn.Server):
    """uvicorn, but on SIGTERM it stops accepting, sends `going_away` to every session and
    waits for them (bounded by `shutdown_grace_s`) before uvicorn closes what is left."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM and sig in self._captured_signals:
            # A drained SIGTERM is the normal end of a Cloud Run instance: exit with 0
            # instead of uvicorn re-raising the signal after shutdown.
            self._captured_signals.remove(sig)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await drain_sessions(self._app)
        await super().shutdown(sockets)


def listen_address(settings: Settings, environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """Where the backend listens: on Cloud Run (`K_SERVICE` set) every interface and
    `$PORT`, whatever HOST says, or the revision never becomes ready; else HOST:PORT
    (127.0.0.1:8080 by default; a container image must set HOST=0.0.0.0)."""
    env = os.environ if environ is None else environ
    if env.get("K_SERVICE"):
        return "0.0.0.0", int(env.get("PORT") or settings.port)  # noqa: S104
    return settings.host, settings.port


def uvicorn_config(app: FastAPI, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """The backend's uvicorn configuration: the HTTP edge's limits (see limits.py and
    docs/API.md "Limits and timeouts") and who may name the client's address."""
    host, listen_port = listen_address(settings)
    install_uvicorn_filters()  # what uvicorn logs about browsers and their URLs
    return uvicorn.Config(
        ForwardedClient(app, hops=settings.trusted_proxy_hops, trusted=trusted_proxies(settings)),
        host=host,
        port=listen_port if port is None else port,
        log_config=None,  # our JSON root handler formats uvicorn's lines too
        http=bounded_http_protocol(settings.http_header_timeout_s),
        timeout_keep_alive=settings.http_keep_alive_s,
        limit_concurrency=settings.max_connections,
        # uvicorn's sans-I/O WebSockets, cutting peers that stop reading (ws_reaping.py).
        ws=ReapingWebSocketProtocol,
        # A bigger frame is refused by the WebSocket layer itself with close code 1009.
        ws_max_size=MAX_JSON_FRAME_BYTES,
        # Browsers offer permessage-deflate and uvicorn would accept it. The stream is PCM
        # audio, which barely compresses, so deflating every frame costs CPU per chunk for
        # nothing, and it would take each frame off ws_reaping's own path. Compressed
        # frames that mix secrets with attacker-chosen text are also a known leak
        # (CRIME/BREACH), so the socket stays uncompressed.
        ws_per_message_deflate=False,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 2,
        lifespan="on",
        # Forwarded headers are read by ForwardedClient (a hop count, which uvicorn
        # lacks); uvicorn's own reading and its FORWARDED_ALLOW_IPS variable stay off.
        proxy_headers=False,
        forwarded_allow_ips=[],
    )


def trusted_proxies(settings: Settings) -> list[str]:
    """The peers whose X-Forwarded-For and X-Forwarded-Proto are believed.

    The client's address keys the per-address rate limit and, with auth off, the
    anonymous user, so by default no peer is believed: not even 127.0.0.1, uvicorn's own
    default, which would let any local process pick its address. With a hop count
    (`TRUSTED_PROXY_HOPS`) and no list, every peer: Cloud Run's front end has no fixed
    address (see forwarded.py).
    """
    return list(settings.trusted_proxies)


def static_config(frontend: Path, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """The local static frontend server: the same HTTP limits as the backend, no
    WebSockets, no forwarded headers."""
    return uvicorn.Config(
        create_static_app(frontend, settings),
        host=settings.host,
        port=settings.frontend_port if port is None else port,
        log_config=None,
        http=bounded_http_protocol(settings.http_header_timeout_s),
        timeout_keep_alive=settings.http_keep_alive_s,
        limit_concurrency=settings.max_connections,
        ws="none",
        lifespan="off",
        proxy_headers=False,
        forwarded_allow_ips=[],
    )


def serve(settings: Settings, *, frontend: Path | None = None) -> None:
    """Run the backend; with `frontend`, also serve that folder on `FRONTEND_PORT`."""
    open_files = raise_open_files_limit()
    logger.info("open-files limit", extra={"rlimit_nofile": open_files})
    app = create_app(settings)
    server = GracefulServer(uvicorn_config(app, settings), app)
    if frontend is None:
        _run(server.serve())
        return
    static = uvicorn.Server(static_config(frontend, settings))
    _run(_serve_both(server, static))


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where installed, as `uvicorn.run` would: a faster event loop for a
    process whose work is mostly socket I/O."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(main)
        return
    uvloop.run(main)


async def _serve_both(backend: GracefulServer, static: uvicorn.Server) -> None:
    # Only the backend captures signals; when it stops, the static server follows.
    static.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(static.serve(), name="frontend-static-server")
    try:
        await backend.serve()
    finally:
        static.should_exit = True
        await asyncio.wait([task], timeout=5)
