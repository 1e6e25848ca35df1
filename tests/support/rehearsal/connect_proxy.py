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
from collections.abc import Mapping

from .relay import ThreadedRelay, splice

_HEAD_LIMIT = 16 * 1024


class ConnectProxy(ThreadedRelay):
    """`grpc_proxy=http://127.0.0.1:port`; `targets` maps "host:443" to (address, port)."""

    what = "CONNECT proxy"

    def __init__(self, targets: Mapping[str, tuple[str, int]]) -> None:
        super().__init__(limit=_HEAD_LIMIT)
        self._targets = {k.lower(): v for k, v in targets.items()}
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._open(reader, writer)
        if upstream is None:
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await splice(reader, writer, upstream)

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
