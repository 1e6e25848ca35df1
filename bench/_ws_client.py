"""A minimal RFC 6455 client for the load generator (`bench._loadgen`): one
`asyncio.Protocol` per connection, frames parsed in `data_received` without a reader task
or queue, and client frames built (and masked) by `client_frame` so a run can build each
once and send the same bytes on every connection."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from collections.abc import Callable

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADER_BYTES = 16_384

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def _mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    stream = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


def client_frame(opcode: int, payload: bytes, key: bytes | None = None) -> bytes:
    """One final, masked client frame (RFC 6455 5.2); a random key unless one is given."""
    key = os.urandom(4) if key is None else key
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    return header + key + _mask(payload, key)


class WsClient(asyncio.Protocol):
    """A minimal WebSocket client: handshake, frame parsing, ping/pong and close.

    Messages are handed to `on_message(payload, is_text, arrived_at)` straight from
    `data_received`, with the loop time at which their bytes arrived.
    """

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        on_message: Callable[[bytearray, bool, float], None],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = self.loop.create_future()
        self.lost: asyncio.Future[None] = self.loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.close_code: int | None = None
        self.closing = False
        self.closed_by_server = False
        self.closed_at: float | None = None  # loop time the server closed or dropped us
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {{key}}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n"
        )
        self._key = base64.b64encode(os.urandom(16))
        self._on_message = on_message
        self._buf = bytearray()
        self._handshaking = True
        self._fragments: bytearray | None = None
        self._fragment_text = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request.replace("{key}", self._key.decode()).encode())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.closed_by_server = True
            self.closed_at = self.loop.time()
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.lost.done():
            self.lost.set_result(None)

    def send(self, frame: bytes) -> None:
        """Write one pre-built frame (no-op once the connection is closing)."""
        if self.transport is not None and not self.closing:
            self.transport.write(frame)

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; `lost` resolves when the server closes TCP."""
        if self.transport is None or self.closing:
            return
        self.closing = True
        self.transport.write(client_frame(OP_CLOSE, code.to_bytes(2, "big")))

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        now = self.loop.time()
        buf = self._buf
        buf += data
        if self._handshaking:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEADER_BYTES:
                    self._fail_handshake("response headers too long")
                return
            head = bytes(buf[:end]).decode("latin-1")
            del buf[: end + 4]
            error = self._check_handshake(head)
            if error:
                self._fail_handshake(error)
                return
            self._handshaking = False
            if not self.opened.done():
                self.opened.set_result(None)
        self._parse(now)

    def _check_handshake(self, head: str) -> str | None:
        lines = head.split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            return f"HTTP {status[1] if len(status) > 1 else '?'} instead of 101"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(self._key + _WS_GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            return "bad Sec-WebSocket-Accept"
        return None

    def _fail_handshake(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        self.abort()

    def _parse(self, now: float) -> None:
        buf = self._buf
        size = len(buf)
        pos = 0
        while size - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            key = None
            if b1 & 0x80:  # servers must not mask, but unmask if one does
                if size - pos < head + 4:
                    break
                key = bytes(buf[pos + head : pos + head + 4])
                head += 4
            end = pos + head + length
            if end > size:
                break
            payload = buf[pos + head : end]
            if key is not None:
                payload = bytearray(_mask(bytes(payload), key))
            pos = end
            self._frame(b0 & 0x80 != 0, b0 & 0x0F, payload, now)
        if pos:
            del buf[:pos]

    def _frame(self, fin: bool, opcode: int, payload: bytearray, now: float) -> None:
        if opcode in (OP_TEXT, OP_BINARY):
            if fin:
                self._on_message(payload, opcode == OP_TEXT, now)
            else:
                self._fragments, self._fragment_text = payload, opcode == OP_TEXT
        elif opcode == OP_CONT and self._fragments is not None:
            self._fragments += payload
            if fin:
                whole, self._fragments = self._fragments, None
                self._on_message(whole, self._fragment_text, now)
        elif opcode == OP_PING:
            if self.transport is not None and not self.closing:
                self.transport.write(client_frame(OP_PONG, bytes(payload)))
        elif opcode == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            if not self.closing and self.transport is not None:
                self.closed_by_server = True
                self.closed_at = now
                self.closing = True
                self.transport.write(client_frame(OP_CLOSE, bytes(payload[:2])))
            if self.transport is not None:
                self.transport.close()
