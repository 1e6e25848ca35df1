"""A TLS front for a plain-HTTP stand-in: Google's hostname on the outside, the stand-in inside.

Cloud Storage's emulator speaks only HTTP; the product's client speaks HTTPS to
`storage.googleapis.com` and verifies that name. The front ends TLS with the rehearsal
certificate and copies bytes both ways to the stand-in, so nothing above TCP is changed
(the Host header, the paths and the bodies reach the stand-in as the client sent them).
"""

from __future__ import annotations

import asyncio
import ssl

from .pki import StandInPki
from .relay import ThreadedRelay, splice


class TlsFront(ThreadedRelay):
    """Listens on `127.0.0.1:port` (TLS) and forwards each connection to `target`."""

    what = "TLS front"

    def __init__(self, pki: StandInPki, target: tuple[str, int]) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.cert, pki.key)
        super().__init__(ssl_context=ctx)
        self._target = target

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        await splice(reader, writer, upstream)
