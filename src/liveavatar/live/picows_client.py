"""Our own Live client on `picows` (`LIVE_CLIENT=picows`): the same protocol and events as
`raw.py`, on a WebSocket library written in Cython.

picows hands each frame to a callback instead of a reader task and a queue, and masks and
frames outgoing messages in C; the frame's JSON is parsed and turned into events in that
callback, so the event stream costs one wake-up per batch of frames, not one per frame.
Measured against `raw.py` in docs/PERFORMANCE.md.

Failures are reported with the `websockets` exceptions the rest of the package reads
(`causes.open_failure`): an HTTP refusal as `InvalidStatus`, a refused setup as
`ConnectionClosed`, so both clients log the same fields.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, cast

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSInvalidStatusError,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI
from websockets.frames import Close
from websockets.http11 import Response
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from .connection import (
    CLOSE_TIMEOUT_S,
    KEEPALIVE_S,
    OPEN_TIMEOUT_S,
    PERMANENT_CLOSE_CODES,
    PERMANENT_HTTP_STATUSES,
    LiveOpenError,
    LiveSendError,
)
from .events import Closed, LiveEvent
from .outgoing import LiveSender
from .raw import MAX_MESSAGE_BYTES, Endpoint, asks_video, translate_json
from .tools import declared_non_blocking
from .utterance import UtterancePolicy, policy_from_setup

logger = logging.getLogger(__name__)


class _Listener(WSListener):
    """Collects one connection's messages, its close and its write flow control."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: deque[bytes] = deque()
        self.close_code: int | None = None  # from the peer's close frame
        self.close_reason = ""
        self.disconnected = False
        self._fragments: list[bytes] = []
        # Kept: `asyncio.get_running_loop()` is a system call per call in CPython 3.11.
        self._loop = asyncio.get_running_loop()
        self._wake: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY or kind is WSMsgType.CONTINUATION:
            if not frame.fin:
                self._fragments.append(frame.get_payload_as_bytes())
                return
            payload = frame.get_payload_as_bytes()
            if self._fragments:
                payload = b"".join((*self._fragments, payload))
                self._fragments.clear()
            self.messages.append(payload)
            self._notify()
        elif kind is WSMsgType.CLOSE:
            body = frame.get_payload_as_bytes()
            # Read by hand: any code the peer sends, including 4000-4999, is kept as is.
            self.close_code = int.from_bytes(body[:2], "big") if len(body) >= 2 else 1005
            self.close_reason = body[2:].decode("utf-8", "replace")
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.disconnected = True
        self._notify()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None:
            if not self._writable.done():
                self._writable.set_result(None)
            self._writable = None

    async def writable(self) -> None:
        """Returns when the transport takes more data: a Live that stops reading holds
        the sender here instead of growing the write buffer without bound."""
        while self._writable is not None:
            await asyncio.shield(self._writable)

    async def next_batch(self) -> None:
        """Returns once a message is waiting or the connection is gone."""
        if self.messages or self.disconnected:
            return
        self._wake = self._loop.create_future()
        try:
            await self._wake
        finally:
            self._wake = None

    def _notify(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)


class PicowsLiveConnection(LiveSender):
    """An open Live session over a picows connection."""

    def __init__(
        self,
        transport: WSTransport,
        listener: _Listener,
        vertex: bool,
        utterance: UtterancePolicy,
        non_blocking: frozenset[str] = frozenset(),
        video: bool = False,
    ) -> None:
        super().__init__(utterance)
        self._transport = transport
        self._listener = listener
        self._vertex = vertex
        self._non_blocking = non_blocking
        self._video = video
        self._closed = False

    @classmethod
    async def open(
        cls,
        endpoint: Endpoint,
        setup: dict[str, Any],
        *,
        open_timeout_s: float = OPEN_TIMEOUT_S,
        keepalive_s: float = KEEPALIVE_S,
    ) -> PicowsLiveConnection:
        """Connect, send `setup`, wait for `setupComplete`, all within `open_timeout_s`;
        as `RawLiveConnection.open`, with the same errors."""
        body = json.dumps({"setup": {"model": endpoint.model, **setup}}, separators=(",", ":"))
        transport: WSTransport | None = None
        try:
            async with asyncio.timeout(open_timeout_s):
                transport, opened = await ws_connect(
                    _Listener,
                    endpoint.url,
                    ssl_context=endpoint.ssl,
                    extra_headers=endpoint.headers,
                    websocket_handshake_timeout=None,  # bounded by open_timeout_s
                    enable_auto_ping=True,
                    auto_ping_idle_timeout=keepalive_s,
                    auto_ping_reply_timeout=keepalive_s,
                    max_frame_size=MAX_MESSAGE_BYTES,
                    logger_name=logger,
                    # The proxy `websockets` would use (HTTPS_PROXY, NO_PROXY...), so the
                    # clients reach Live the same way.
                    proxy=get_proxy(parse_uri(endpoint.url)),
                )
                listener = cast(_Listener, opened)
                transport.send(WSMsgType.TEXT, body.encode())
                await listener.next_batch()
        except WSInvalidStatusError as exc:
            status = int(exc.response.status) if exc.response is not None else 0
            cause = _invalid_status(exc, status)
            raise LiveOpenError(
                f"Live refused the connection (HTTP {status})",
                permanent=status in PERMANENT_HTTP_STATUSES,
                code=status,
            ) from cause
        except TimeoutError as exc:
            if transport is not None:
                transport.disconnect(graceful=False)
            raise LiveOpenError(
                f"Live did not answer within {open_timeout_s:g} s", permanent=False, stalled=True
            ) from exc
        except (OSError, ValueError, WSError, InvalidURI) as exc:
            # TLS failures are OSErrors; WSError: no valid WebSocket answer (a proxy's).
            if transport is not None:
                transport.disconnect(graceful=False)
            raise LiveOpenError(f"Live unreachable: {type(exc).__name__}", permanent=False) from exc
        if not listener.messages:
            code = listener.close_code if listener.close_code is not None else 1006
            closed = ConnectionClosed(Close(code, listener.close_reason), None)
            raise LiveOpenError(
                f"Live refused the setup ({code})",
                permanent=code in PERMANENT_CLOSE_CODES,
                code=code,
            ) from closed
        try:
            first = json.loads(listener.messages.popleft())
        except ValueError:
            first = None
        if not isinstance(first, dict) or "setupComplete" not in first:
            transport.disconnect(graceful=False)
            raise LiveOpenError("Live answered setup unexpectedly", permanent=True)
        return cls(
            transport,
            listener,
            endpoint.vertex,
            policy_from_setup(setup, vertex=endpoint.vertex),
            declared_non_blocking(setup.get("tools")),
            asks_video(setup),
        )

    async def _send(self, text: str | bytes) -> None:
        listener, transport = self._listener, self._transport
        await listener.writable()
        if listener.disconnected or transport.is_close_frame_sent:
            raise LiveSendError("closed")
        transport.send(WSMsgType.TEXT, text)

    async def events(self) -> AsyncIterator[LiveEvent]:
        listener = self._listener
        messages = listener.messages
        while True:
            while messages:
                try:
                    message = json.loads(messages.popleft())
                except ValueError:
                    logger.warning("Live sent a frame that is not JSON")
                    continue
                if isinstance(message, dict):
                    for event in translate_json(
                        message,
                        vertex=self._vertex,
                        non_blocking=self._non_blocking,
                        video=self._video,
                    ):
                        yield event
            if listener.disconnected:
                break
            await listener.next_batch()
        yield self._closed_event()

    def _closed_event(self) -> Closed:
        listener = self._listener
        if listener.close_code is not None:
            return Closed(listener.close_code, listener.close_reason)
        handshake = self._transport.close_handshake
        sent = handshake.sent if handshake is not None else None
        # picows ends a connection whose pings went unanswered by sending 1001 itself and
        # dropping it: the far end never closed, it stalled.
        if not self._closed and sent is not None and sent.code == WSCloseCode.GOING_AWAY:
            return Closed(1006, "keepalive ping timeout", stalled=True)
        return Closed(1006, "")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        transport = self._transport
        if not transport.is_close_frame_sent and not self._listener.disconnected:
            transport.send_close(WSCloseCode.OK)
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S / 2):
                await transport.wait_disconnected()
        except TimeoutError:
            # A peer that stopped reading can hold a polite close forever: drop the socket.
            transport.disconnect(graceful=False)
            logger.info("Live connection closed uncleanly")


def _invalid_status(exc: WSInvalidStatusError, status: int) -> InvalidStatus:
    """The refusal as `websockets` reports one, so the cause is logged the same way."""
    response = exc.response
    reason = response.status.phrase if response is not None else ""
    headers = Headers(list(response.headers.items())) if response is not None else Headers()
    body = (response.body if response is not None else None) or exc.raw_body or b""
    return InvalidStatus(Response(status, reason, headers, body))
