"""The HTTP edge's limits: a deadline for request headers, a connection cap answered with
503 + Retry-After, and the process's open-files limit.

uvicorn bounds idle keep-alive connections (`timeout_keep_alive`) but not a connection
that is slow to send its request headers: a few thousand sockets that dribble a request
line, or say nothing at all, hold file descriptors until the process can accept no more
and even `/healthz` stops answering. `bounded_http_protocol()` closes such a socket once
its headers are late, and answers requests beyond `limit_concurrency` itself so that the
503 carries a `Retry-After`.

We configure uvicorn's httptools implementation explicitly (never `http="auto"`), so this
subclass is the one protocol class that serves HTTP/1.1 here.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

logger = logging.getLogger(__name__)

#: What a request beyond the connection cap is told: retry after this many seconds.
RETRY_AFTER_S = 1
#: Where the hard limit is "unlimited", the soft limit is raised to this (Linux's default
#: fs.nr_open; setrlimit refuses RLIM_INFINITY for open files).
_UNLIMITED_FILES = 1 << 20

_BUSY_BODY = b"Server busy: too many connections. Retry shortly.\n"
_TIMEOUT_BODY = b"Request headers not received in time.\n"


#: How long a connection answered 408 is still read (and dropped) before it is closed.
LINGER_S = 2.0


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-header deadline and a 503 with
    `Retry-After` beyond the connection cap (`Config.limit_concurrency`).

    The header deadline runs from the moment the connection is accepted, and again from
    the first byte of each later request on a kept-alive connection; it is not extended
    by data arriving, so a client cannot hold the socket by sending a byte at a time.
    A late request gets 408 and the connection is closed; a connection that sent nothing
    is just closed.
    """

    #: Seconds a connection may take to deliver a request's headers (set by the factory).
    header_timeout_s: float = 10.0

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # uvicorn's own check would answer with a 503 that has no Retry-After: we take
        # the cap over and answer it in on_headers_complete.
        self._max_connections = self.limit_concurrency
        self.limit_concurrency = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._request_begun = False
        self._lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a late request: read and dropped until the close
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_begun = True
        # The first request's deadline already runs from the accept; a later request on
        # a kept-alive connection gets its own from its first byte.
        if self._header_timer is None:
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self._request_begun = False
        if not self._over_capacity():
            super().on_headers_complete()
            return
        logger.warning(
            "connection cap reached: answering 503",
            extra={"connections": len(self.connections), "max_connections": self._max_connections},
        )
        app = self.app
        self.app = _service_unavailable
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def shutdown(self) -> None:
        self._disarm_header_timer()
        super().shutdown()

    def _over_capacity(self) -> bool:
        cap = self._max_connections
        # `connections` includes this one: up to `cap` open connections are served.
        return cap is not None and (len(self.connections) > cap or len(self.tasks) >= cap)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request is late while an earlier one is still being answered:
            # let that response finish, then close instead of waiting for the rest.
            self.cycle.keep_alive = False
            return
        if not self._request_begun:
            self.transport.close()
            return
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + _TIMEOUT_BODY
        )
        # A lingering close, as web servers do: closing while the client is still sending
        # would make the kernel answer with a reset that can destroy the 408 in flight.
        # So: end our side, keep reading (and dropping) for a moment, then close.
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def bounded_http_protocol(header_timeout_s: float) -> type[BoundedHttpProtocol]:
    """The protocol class to pass as `uvicorn.Config(http=...)`, with this header
    deadline (uvicorn instantiates the class itself, so the value travels on it)."""

    class ConfiguredHttpProtocol(BoundedHttpProtocol):
        pass

    ConfiguredHttpProtocol.header_timeout_s = header_timeout_s
    return ConfiguredHttpProtocol


async def _service_unavailable(
    scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(_BUSY_BODY)).encode()),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BUSY_BODY, "more_body": False})


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; return the soft limit
    now in force.

    Every browser session holds two descriptors (its socket and its Live connection), so
    the usual soft limit of 1024 would refuse sockets long before `MAX_CONNECTIONS` and
    `MAX_SESSIONS` are reached; the hard limit is what the system grants us.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _UNLIMITED_FILES if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as exc:
            logger.warning(
                "could not raise the open-files limit",
                extra={"soft": soft, "hard": hard, "error": str(exc)},
            )
            return soft
        return wanted
    return soft
