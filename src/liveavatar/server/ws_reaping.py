"""The browser socket's protocol: a peer that stops reading is cut, not waited on forever;
and each audio frame costs as little as the protocol allows.

uvicorn ends a WebSocket whose keepalive ping goes unanswered, and one whose peer ignores
our close frame, with `transport.close()`. That close waits for the write buffer to drain
first; a peer that stopped reading (a frozen tab, a vanished network behind a full send
buffer) never drains it, so the connection was never lost: the session, its Live
connection and its buffers stayed for good, and the app's next `send` waited on a write
that never resumed. Here both ends abort once the graceful close cannot finish: the buffer
is dropped (nobody will read it), the socket is reset and the session's teardown runs.

Per frame (docs/PERFORMANCE.md), on an open connection without extensions:
- a data frame the app sends is framed here in one step (a server frame is a header and
  the payload, unmasked) instead of through the sans-I/O protocol's frame objects;
- received bytes are cut into frames here; a whole, final, masked text or binary frame
  within the size limit is unmasked (websockets' C routine) and queued for the app as
  uvicorn would queue it. Every other frame (ping, pong, close, fragments, anything
  malformed or too large) is handed, whole, to the sans-I/O protocol and uvicorn's own
  handling, so its parser is always at a frame boundary and answers them as before;
  a frame it must refuse before it is complete (a declared size over the limit) hands it
  everything from there on;
- received messages wait in a `Mailbox` instead of an `asyncio.Queue`, and reading
  pauses once READ_AHEAD messages wait for the app (uvicorn pauses and resumes at each
  message: two loop calls and an epoll change per frame) and resumes when the app has
  taken them all, as uvicorn's `receive` does;
- the app may write a data frame without a coroutine (`send_now`, offered to it as the
  ASGI extension SEND_NOW) while the socket is open and takes writes; the bridge's
  outbox writes that way while its writer task idles (`bridge/outbox.py`).
Anything else (the handshake, a closing connection) takes uvicorn's path unchanged.
"""

from __future__ import annotations

from asyncio import Transport
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import OPEN
from websockets.speedups import apply_mask

from liveavatar.bridge.outbox import SEND_NOW
from liveavatar.mailbox import Mailbox

_FIN_TEXT, _FIN_BINARY = 0x81, 0x82
_OP_TEXT, _OP_BINARY = 0x1, 0x2
_MAX_CONTROL = 125  # bytes of a control frame's payload
READ_AHEAD = 16  # messages waiting for the app before reading pauses


def server_frame_header(first: int, size: int) -> bytes:
    """An unmasked frame's header (RFC 6455 5.2): FIN and opcode in `first`, then length."""
    if size < 126:
        return bytes((first, size))
    if size < 1 << 16:
        return bytes((first, 126)) + size.to_bytes(2, "big")
    return bytes((first, 127)) + size.to_bytes(8, "big")


class ReapingWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, aborting where a graceful close would hang."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = Mailbox()
        # The start of a frame not yet complete, grown in place: a frame trickled in small
        # reads costs copies in proportion to its size, not to its size times the reads.
        self._pending = bytearray()
        self._framing = True  # False once the sans-I/O parser may hold part of a frame

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        extensions = self.scope.get("extensions")
        if extensions is not None:
            extensions[SEND_NOW] = {"protocol": self}

    def data_received(self, data: bytes) -> None:
        if not self._framing:
            super().data_received(data)
            return
        if not self.handshake_complete:
            # The upgrade request, parsed by the sans-I/O protocol. A client sends no
            # frame before our 101; if one came with or after the request, that parser
            # may hold part of it, and every frame from then on goes its way.
            initiated = self.handshake_initiated
            super().data_received(data)
            if initiated or (self.handshake_initiated and not data.endswith(b"\r\n\r\n")):
                self._framing = False
            return
        if not self._pending:
            rest = self._frames(data)
            if rest < len(data):
                self._pending = bytearray(memoryview(data)[rest:])
            return
        pending = self._pending
        pending += data
        rest = self._frames(pending)
        if rest:
            del pending[:rest]

    def _frames(self, buf: bytes | bytearray) -> int:
        """Deliver or hand over every whole frame in `buf`; where the rest starts (a
        frame not yet complete), or `len(buf)` once everything was handed over."""
        conn = self.conn
        limit = conn.max_message_size
        pos, end = 0, len(buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            size, head = b1 & 0x7F, 2
            if size == 126:
                if end - pos < 4:
                    break
                size, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif size == 127:
                if end - pos < 10:
                    break
                size, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            opcode = b0 & 0x0F
            if (limit is not None and size > limit) or (opcode >= 8 and size > _MAX_CONTROL):
                # Refused from its header: the sans-I/O protocol fails the connection.
                self._framing = False
                super().data_received(bytes(buf[pos:]))
                return end
            masked = b1 & 0x80
            if masked:
                head += 4
            frame_end = pos + head + size
            if frame_end > end:
                break
            if (
                (b0 & 0xF0) == 0x80  # final, no reserved bits
                and opcode in (_OP_BINARY, _OP_TEXT)
                and masked
                and conn.current_size is None  # not inside a fragmented message
                and conn.state is OPEN
                and not self.close_sent
                and not conn.extensions
                and self._deliver(opcode, buf, pos + head, frame_end)
            ):
                pos = frame_end
                continue
            super().data_received(bytes(buf[pos:frame_end]))
            pos = frame_end
            if self.transport.is_closing():
                self._framing = False
                return end
        return pos

    def _deliver(self, opcode: int, buf: bytes | bytearray, start: int, end: int) -> bool:
        """Queue one whole data frame's message for the app, as uvicorn does; False (and
        nothing queued) for text that is not UTF-8, which uvicorn's path refuses."""
        payload: bytes = apply_mask(buf[start:end], buf[start - 4 : start])
        if opcode == _OP_TEXT:
            try:
                text = payload.decode()
            except UnicodeDecodeError:
                return False
            self.queue.put_nowait({"type": "websocket.receive", "text": text})
        else:
            self.queue.put_nowait({"type": "websocket.receive", "bytes": payload})
        if not self.read_paused and self.queue.qsize() >= READ_AHEAD:
            self.read_paused = True
            self.transport.pause_reading()
        return True

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self._abort_if_stuck()

    def _open_and_plain(self) -> bool:
        """Accepted, not closing, and without extensions or a fragmented message under way:
        a data frame may be written as one plain frame."""
        conn = self.conn
        return (
            conn.state is OPEN
            and self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and self.initial_response is None
            and not conn.extensions
            and not conn.expect_continuation_frame
        )

    def writes_plain_frames(self) -> bool:
        return not self.conn.extensions

    def can_send_now(self) -> bool:
        """Whether `send_now` may write: the connection is open, plain, and takes writes."""
        return self._open_and_plain() and self.writable.is_set() and not self.transport.is_closing()

    def send_now(self, frame: str | bytes) -> None:
        """Write one data frame at once (binary for bytes, text for str); only after
        `can_send_now()` said yes in the same callback."""
        if isinstance(frame, bytes):
            self.transport.writelines((server_frame_header(_FIN_BINARY, len(frame)), frame))
        else:
            payload = frame.encode()
            self.transport.writelines((server_frame_header(_FIN_TEXT, len(payload)), payload))

    async def send(self, message: ASGISendEvent) -> None:
        conn = self.conn
        if message["type"] == "websocket.send" and self._open_and_plain():
            if not self.writable.is_set():
                await self.writable.wait()
                if self.disconnected or conn.state is not OPEN:
                    await super().send(message)  # raises as uvicorn does
                    return
            frame: bytes | str | None = message.get("bytes")
            if frame is None:
                frame = message.get("text")
            if frame is not None:
                self.send_now(frame)
            return
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
