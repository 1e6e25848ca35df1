"""The browser socket's own framing (`server/ws_reaping.py`) against raw bytes on a real
socket: frames coalesced into one read or cut anywhere, control frames and fragmented
messages among them, and the frames it must refuse, all as uvicorn's own path handles
them. An echo app on the product's protocol class sends every message straight back."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from bench._ws_client import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT, WsClient, client_frame
from starlette.types import Receive, Scope, Send

from liveavatar.server.ws_reaping import ReapingWebSocketProtocol
from tests.support.uvicorn_server import bound_socket, serving

MAX_SIZE = 4096
WAIT_S = 10.0


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
        else:
            await send({"type": "websocket.send", "text": message["text"]})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(
        echo_app,
        ws=ReapingWebSocketProtocol,
        ws_max_size=MAX_SIZE,
        lifespan="off",
        log_level="warning",
    )
    with bound_socket() as sock:
        async with serving(uvicorn.Server(config), sock, name="framing-test-server"):
            yield int(sock.getsockname()[1])


class Peer:
    """A raw client: what it sends is bytes as given; what comes back is collected."""

    def __init__(self) -> None:
        self.messages: list[tuple[bool, bytes]] = []
        self.arrived = asyncio.Event()
        self.ws: WsClient | None = None

    def on_message(self, payload: bytearray, is_text: bool, now: float) -> None:
        self.messages.append((is_text, bytes(payload)))
        self.arrived.set()

    async def connect(self, port: int) -> WsClient:
        loop = asyncio.get_running_loop()
        _, ws = await loop.create_connection(
            lambda: WsClient("127.0.0.1", port, "/ws", self.on_message), "127.0.0.1", port
        )
        assert ws.transport is not None
        sock = ws.transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        async with asyncio.timeout(WAIT_S):
            await ws.opened
        self.ws = ws
        return ws

    async def wait_for(self, count: int) -> list[tuple[bool, bytes]]:
        async with asyncio.timeout(WAIT_S):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages[:count]


def _frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    frame = bytearray(client_frame(opcode, payload))
    if not fin:
        frame[0] &= 0x7F
    return bytes(frame)


async def test_coalesced_and_cut_frames_come_back_whole_and_in_order(port: int) -> None:
    peer = Peer()
    ws = await peer.connect(port)
    payloads = [os.urandom(n) for n in (0, 1, 125, 126, 640, 960, 4000)]
    frames = [_frame(OP_BINARY, p) for p in payloads]
    text = "héllo, wörld"
    frames.insert(3, _frame(OP_TEXT, text.encode()))
    frames.insert(5, _frame(OP_PING, b"ping!"))
    stream = b"".join(frames)
    cut = len(b"".join(frames[:6])) + 5  # inside the 640-byte frame's payload
    ws.send(stream[:cut])
    # Its whole frames answered: the server has read this part, and holds a partial frame.
    await peer.wait_for(5)
    for i in range(cut, len(stream)):
        ws.send(stream[i : i + 1])  # the rest a byte at a time
    got = await peer.wait_for(len(payloads) + 1)
    expected = [(False, p) for p in payloads]
    expected.insert(3, (True, text.encode()))
    assert got == expected  # the pong is answered by the client, not collected
    ws.close()
    async with asyncio.timeout(WAIT_S):
        await ws.lost
    assert ws.close_code == 1000


async def test_a_fragmented_message_among_whole_frames_is_joined(port: int) -> None:
    peer = Peer()
    ws = await peer.connect(port)
    ws.send(
        _frame(OP_BINARY, b"one")
        + _frame(OP_TEXT, b"fra", fin=False)
        + _frame(OP_PING, b"")
        + _frame(OP_CONT, b"gme", fin=False)
        + _frame(OP_CONT, b"nted")
        + _frame(OP_BINARY, b"two")
    )
    assert await peer.wait_for(3) == [(False, b"one"), (True, b"fragmented"), (False, b"two")]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (_frame(OP_TEXT, b"\xff\xfe"), 1007),  # not UTF-8
        # declared larger than the limit: refused before its payload arrives
        (bytes((0x82, 0xFF)) + (MAX_SIZE + 1).to_bytes(8, "big") + os.urandom(4), 1009),
        (bytes((0x82, 0x03)) + b"abc", 1002),  # not masked
        (_frame(OP_CONT, b"x"), 1002),  # continuation of nothing
        (bytes((0xC2, 0x83)) + os.urandom(7), 1002),  # reserved bit set
    ],
)
async def test_frames_it_must_refuse_close_the_socket_as_before(
    port: int, frame: bytes, code: int
) -> None:
    peer = Peer()
    ws = await peer.connect(port)
    ws.send(_frame(OP_BINARY, b"before"))
    assert await peer.wait_for(1) == [(False, b"before")]
    ws.send(frame + _frame(OP_BINARY, b"after"))
    async with asyncio.timeout(WAIT_S):
        await ws.lost
    assert peer.messages == [(False, b"before")]
    assert ws.close_code == code


async def test_a_close_frame_ends_the_socket_and_what_follows_is_ignored(port: int) -> None:
    peer = Peer()
    ws = await peer.connect(port)
    ws.send(_frame(OP_BINARY, b"first"))
    assert await peer.wait_for(1) == [(False, b"first")]
    close = _frame(OP_CLOSE, (1000).to_bytes(2, "big"))
    ws.send(_frame(OP_BINARY, b"x") + close + _frame(OP_BINARY, b"ignored"))
    async with asyncio.timeout(WAIT_S):
        await ws.lost
    assert (False, b"ignored") not in peer.messages
    assert ws.close_code == 1000
