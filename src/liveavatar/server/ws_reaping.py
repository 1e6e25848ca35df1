"""The browser socket's protocol: a peer that stops reading is cut, not waited on forever.

uvicorn ends a WebSocket whose keepalive ping goes unanswered, and one whose peer ignores
our close frame, with `transport.close()`. That close waits for the write buffer to drain
first; a peer that stopped reading (a frozen tab, a vanished network behind a full send
buffer) never drains it, so the connection was never lost: the session, its Live
connection and its buffers stayed for good, and the app's next `send` waited on a write
that never resumed. Here both ends abort once the graceful close cannot finish: the buffer
is dropped (nobody will read it), the socket is reset and the session's teardown runs.
"""

from __future__ import annotations

from asyncio import Transport

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class ReapingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, aborting where a graceful close would hang."""

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self._abort_if_stuck()

    async def send(self, message: ASGISendEvent) -> None:
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            # The close frame is queued; a peer that never answers it is given the same
            # close_timeout, then cut even if our bytes are still waiting for it.
            self.close_timer.cancel()
            self.close_timer = self.loop.call_later(self.close_timeout, self._close_or_abort)

    def _close_or_abort(self) -> None:
        self.transport.close()
        self._abort_if_stuck()

    def _abort_if_stuck(self) -> None:
        transport = self.transport
        if isinstance(transport, Transport) and transport.get_write_buffer_size() > 0:
            transport.abort()
