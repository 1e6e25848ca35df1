"""The browser socket's frames after the handshake, on its raw ASGI `receive` and `send`.

Starlette's `WebSocket` checks its state and the message's type on every call, a layer
of coroutines per audio frame in each direction. After `hello` the bridge reads and writes
through the socket's ASGI callables directly (docs/PERFORMANCE.md); the `WebSocket` still
does the handshake and the close, and is told here when the browser has gone, so those
see the same state as before.

Where the server offers to write frames without a coroutine (the `liveavatar.send_now`
ASGI extension of `server/ws_reaping.py`), the outbox writes through it while the writer
task idles (`Outbox.write_directly`): no task wakes up for a frame the socket takes at once.
"""

from __future__ import annotations

from starlette.types import Receive, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .inbound import BrowserGone
from .outbox import SEND_NOW, DirectWriter, Outbox


class BrowserWire:
    """One accepted browser socket's frames: read by the reader, written by the writer."""

    __slots__ = ("_receive", "_send", "ws")

    def __init__(self, ws: WebSocket, receive: Receive, send: Send) -> None:
        """`receive` and `send` are the ASGI callables `ws` was built on."""
        self.ws = ws
        self._receive = receive
        self._send = send

    async def frame(self) -> str | bytes:
        """The next frame as it came: bytes (audio) or text (JSON, not yet parsed).

        Raises:
            BrowserGone: the socket closed.
        """
        message = await self._receive()
        if message["type"] != "websocket.receive":  # websocket.disconnect
            self.ws.client_state = WebSocketState.DISCONNECTED
            raise BrowserGone
        data = message.get("bytes")
        if data is not None:
            return data if type(data) is bytes else bytes(data)
        return message.get("text") or ""

    async def write_from(self, outbox: Outbox) -> None:
        """Send what the outbox holds, for as long as the browser takes it.

        Raises:
            BrowserGone: the socket is closed or broken.
        """
        send = self._send
        direct = self.direct_writer()
        # Only the extensions are for good: a paused or not yet writable socket is not,
        # and the outbox asks `can_send_now` before each frame.
        if direct is not None and direct.writes_plain_frames():
            outbox.write_directly(direct)
        while True:
            try:
                frame = await outbox.get()
                message = (
                    {"type": "websocket.send", "bytes": frame}
                    if type(frame) is bytes
                    else {"type": "websocket.send", "text": frame}
                )
                await send(message)
            except OSError as exc:  # as Starlette's own send: the socket is gone
                self.ws.application_state = WebSocketState.DISCONNECTED
                raise BrowserGone from exc
            except (WebSocketDisconnect, RuntimeError) as exc:
                raise BrowserGone from exc

    def direct_writer(self) -> DirectWriter | None:
        """The server's direct writer for this socket, if it offers one."""
        offered = (self.ws.scope.get("extensions") or {}).get(SEND_NOW)
        if not isinstance(offered, dict):
            return None
        protocol = offered.get("protocol")
        if isinstance(protocol, DirectWriter):
            return protocol
        return None
