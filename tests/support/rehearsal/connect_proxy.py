"""An HTTP CONNECT proxy that knows only the stand-ins: gRPC's way to Google's names on the host.

gRPC resolves names itself, so the rehearsal's `sitecustomize` cannot map
`firestore.googleapis.com` for it, and a process on the host has no hosts file of its own
(a container gets one from `--add-host`). gRPC honours `grpc_proxy`: it asks the proxy to
`CONNECT firestore.googleapis.com:443` and then speaks TLS through the tunnel, verifying
that name's certificate end to end. This proxy opens the tunnel to the stand-in mapped to
the name and refuses any other name (403), so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Mapping
from types import TracebackType

_START_TIMEOUT_S = 10.0
_HEAD_LIMIT = 16 * 1024
_CHUNK = 64 * 1024


class ConnectProxy:
    """`grpc_proxy=http://127.0.0.1:port`; `targets` maps "host:443" to (address, port)."""

    def __init__(self, targets: Mapping[str, tuple[str, int]]) -> None:
        self._targets = {k.lower(): v for k, v in targets.items()}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="connect-proxy", daemon=True)
        self.refused: list[str] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise RuntimeError("the CONNECT proxy did not start")
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
        server = await asyncio.start_server(self._tunnel, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            await self._stop.wait()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _tunnel(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._open(reader, writer)
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            writer.close()

    async def _open(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """The stand-in's connection for the CONNECT request read from `reader`, or None."""
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            method, authority, _ = head.split("\r\n", 1)[0].split(" ", 2)
            target = self._targets.get(authority.lower()) if method == "CONNECT" else None
            if target is None:
                self.refused.append(authority)
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return None
            return await asyncio.open_connection(*target)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, RuntimeError):
        writer.close()
        await writer.wait_closed()
