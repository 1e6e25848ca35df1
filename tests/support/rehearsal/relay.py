"""A TCP relay on its own event loop in a thread: the shared body of the rehearsal's
fronts and proxies (sync and async tests can both use them)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from types import TracebackType
from typing import Self

_START_TIMEOUT_S = 10.0
_CHUNK = 64 * 1024


class ThreadedRelay:
    """Listens on `127.0.0.1:port`; each connection goes to `_handle`. Subclasses say
    what they are (`what`), may end TLS (`ssl_context`) and bound a request head (`limit`)."""

    what = "relay"

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, limit: int = _CHUNK) -> None:
        self._ssl = ssl_context
        self._limit = limit
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=self.what, daemon=True)
        self.port = 0

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError(f"the {self.what} did not start")
        if self._failure is not None:
            raise RuntimeError(f"the {self.what} failed to start") from self._failure
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stop = self._stop
        if stop is not None:
            self._loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            server = await asyncio.start_server(
                self._handle, "127.0.0.1", 0, ssl=self._ssl, limit=self._limit
            )
        except OSError as exc:
            self._failure = exc
            self._ready.set()
            return
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            await self._stop.wait()
        # Connections still open (keep-alive, tunnels) end with the relay.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


async def splice(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy both ways between a client and its upstream until both ends are done."""
    up_reader, up_writer = upstream
    try:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
    finally:
        up_writer.close()
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream or a reset, then close the far side's writing half."""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, ssl.SSLError, RuntimeError):
        writer.close()
        await writer.wait_closed()
