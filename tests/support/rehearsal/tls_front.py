"""A TLS front for a plain-HTTP stand-in: Google's hostname on the outside, the stand-in inside.

Cloud Storage's emulator speaks only HTTP; the product's client speaks HTTPS to
`storage.googleapis.com` and verifies that name. The front ends TLS with the rehearsal
certificate and copies bytes both ways to the stand-in, so nothing above TCP is changed
(the Host header, the paths and the bodies reach the stand-in as the client sent them).
It runs its own event loop in a thread, so sync and async tests can both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from types import TracebackType

from .pki import StandInPki

_CHUNK = 64 * 1024
_START_TIMEOUT_S = 10.0


class TlsFront:
    """Listens on `127.0.0.1:port` (TLS) and forwards each connection to `target`."""

    def __init__(self, pki: StandInPki, target: tuple[str, int]) -> None:
        self._target = target
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(pki.cert, pki.key)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tls-front", daemon=True)
        self.port = 0

    def __enter__(self) -> TlsFront:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("the TLS front did not start")
        if self._failure is not None:
            raise RuntimeError("the TLS front failed to start") from self._failure
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

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            server = await asyncio.start_server(self._forward, "127.0.0.1", 0, ssl=self._ctx)
        except OSError as exc:
            self._failure = exc
            self._ready.set()
            return
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            await self._stop.wait()
        # Connections still open (keep-alive) end with the front.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
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
