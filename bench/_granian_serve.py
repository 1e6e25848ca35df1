"""The backend's app under Granian (a Rust HTTP/WebSocket server), for `bench.proxy_variants`.

An experiment, not a product entry point: the same app, settings and forwarded-header
handling as `liveavatar serve`, but Granian's embedded server (one Rust I/O thread feeding
the Python event loop) instead of uvicorn. What uvicorn's runner adds beyond that (the
bounded header read, the connection cap, the drain on SIGTERM) is left out; Granian has
its own equivalents. `python -m bench._granian_serve` with the backend's environment.
"""

from __future__ import annotations

import asyncio
import signal

import uvloop
from granian.constants import Interfaces
from granian.server.embed import Server

from liveavatar.log import configure_logging
from liveavatar.server.app import create_app
from liveavatar.server.forwarded import ForwardedClient
from liveavatar.server.runner import listen_address, trusted_proxies
from liveavatar.settings import load_settings


async def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    host, port = listen_address(settings)
    target = ForwardedClient(
        app, hops=settings.trusted_proxy_hops, trusted=trusted_proxies(settings)
    )
    server = Server(target, address=host, port=port, interface=Interfaces.ASGI, log_enabled=False)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, server.stop)
    loop.add_signal_handler(signal.SIGINT, server.stop)
    await server.serve()


if __name__ == "__main__":
    uvloop.run(main())
