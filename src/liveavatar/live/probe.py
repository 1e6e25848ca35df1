"""A readiness probe of the Live endpoint that its server must answer, and that costs nothing."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from liveavatar.settings import Settings

from .endpoint import base_url
from .health import LiveState
from .trust import default_context, live_tls

PROBE_TIMEOUT_S = 2.0


async def probe_live(settings: Settings, *, timeout_s: float = PROBE_TIMEOUT_S) -> LiveState:
    """How the configured Live endpoint answers a bare HTTP request.

    A TCP connect alone proves little: the kernel completes it for a stopped process. A
    TLS handshake and an HTTP status line need the server itself. The request is a plain
    `GET /` without credentials (the API key is never sent), so it opens no Live session.

    Returns:
        `reachable` when an HTTP status line came back; `stalled` when TCP connected but
        TLS or the answer did not come within `timeout_s`; `unreachable` otherwise.
    """
    base = base_url(settings)
    parts = urlsplit(base)
    host = parts.hostname or ""
    tls = parts.scheme in ("https", "wss")
    port = parts.port or (443 if tls else 80)
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
    except OSError:  # TimeoutError included: a dropped SYN is no answer from anyone
        return "unreachable"
    try:
        async with asyncio.timeout(timeout_s):
            if tls:
                # The same trust as the Live clients: a probe that passes proves their TLS too.
                ctx = live_tls(settings, base) or default_context()
                await writer.start_tls(ctx, server_hostname=host)
            request = f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode("ascii"))
            await writer.drain()
            status = await reader.readline()
    except TimeoutError:
        return "stalled"
    except OSError:  # refused TLS, a reset: the server is there but not serving
        return "unreachable"
    finally:
        # Dropped at once: a polite close would wait on a far end that may not answer.
        writer.transport.abort()
    return "reachable" if status.startswith(b"HTTP/") else "unreachable"
