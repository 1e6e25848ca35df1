"""A light Live peer for `bench.proxy --peer light`: the emulator's echo brain, and no more.

`python -m bench._echo_peer --cert-dir DIR` listens on a free port over TLS (the
emulator's certificate in DIR, so the backend trusts it the same way) and speaks the part
of the Live protocol the bridge's audio path uses: the first message (`setup`) is answered
with `setupComplete`; every `realtimeInput` audio chunk is answered at once with the same
audio at 24 kHz (the emulator's own upsampler) in a `serverContent.modelTurn` message, as
the echo brain answers it (`echo_reply`); anything else is ignored. Pings are answered
and a close is echoed.

Not product code and not an emulator: no sessions, resumption, VAD or transcripts. It
exists so that at a few hundred sessions the peer is not what limits the measurement:
picows parses and frames in C and each chunk costs one callback here, against the
emulator's `websockets` server, its typed setup and its per-connection tasks
(docs/PERFORMANCE.md). `bench.proxy` uses the same peer for the direct and the proxied
phases, so the comparison stays like for like.

On start it prints one JSON line, `{"message": "echo peer listening", "url": ...}`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import json
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

from liveavatar.audio.pcm import upsample_16k_to_24k
from liveavatar.emulator.tls import ensure_certificate

LISTENING = "echo peer listening"
_SETUP_COMPLETE = b'{"setupComplete":{}}'
_DATA = b'"data":"'
_REPLY_PREFIX = (
    b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":'
    b'{"mimeType":"audio/pcm;rate=24000","data":"'
)
_REPLY_SUFFIX = b'"}}]}}}'
_CACHE_ITEMS = 20_000
_cache: dict[bytes, bytes] = {}


def echo_reply(message: bytes) -> bytes | None:
    """The echo of one client message: its audio at 24 kHz, or None when it has none.

    Replies are kept by their input's base64 (at most `_CACHE_ITEMS`): every simulated
    browser sends the same numbered chunks, so after the first session a reply costs a
    lookup instead of a decode, an upsample and an encode, and the peer's CPU per chunk
    is mostly its WebSocket and TLS work.
    """
    if b'"realtimeInput"' not in message or b'"audio/pcm' not in message:
        return None
    start = message.find(_DATA)
    if start >= 0:  # compact JSON, as the backend's own clients send it
        start += len(_DATA)
        data = message[start : message.find(b'"', start)]
    else:
        found = _audio_data(message)
        if found is None:
            return None
        data = found
    reply = _cache.get(data)
    if reply is not None:
        return reply
    try:
        pcm = binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        return None
    out = upsample_16k_to_24k(pcm[: len(pcm) & ~1])
    reply = b"".join((_REPLY_PREFIX, base64.b64encode(out), _REPLY_SUFFIX))
    if len(_cache) >= _CACHE_ITEMS:
        _cache.clear()
    _cache[data] = reply
    return reply


def _audio_data(message: bytes) -> bytes | None:
    """The base64 audio of a `realtimeInput` message in any JSON layout (the SDK's, say)."""
    try:
        doc = json.loads(message)
        ri = doc["realtimeInput"]
        blob = ri.get("audio") or (ri.get("mediaChunks") or [None])[0]
        data = blob["data"] if str(blob.get("mimeType", "")).startswith("audio/") else None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
    return data.encode("ascii", "replace") if isinstance(data, str) else None


class EchoListener(WSListener):
    """One connection: `setupComplete` for the first message, an echo for each audio one."""

    def __init__(self) -> None:
        super().__init__()
        self._set_up = False
        self._parts: list[bytes] = []

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        if kind not in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            return
        if not frame.fin:
            self._parts.append(frame.get_payload_as_bytes())
            return
        message = frame.get_payload_as_bytes()
        if self._parts:
            message = b"".join((*self._parts, message))
            self._parts.clear()
        if not self._set_up:
            self._set_up = True
            transport.send(WSMsgType.TEXT, _SETUP_COMPLETE)
            return
        reply = echo_reply(message)
        if reply is not None:
            transport.send(WSMsgType.TEXT, reply)


async def start(cert_dir: Path, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Listen with TLS on `host`:`port` (0: a free port) until the server is closed."""
    cert, key = ensure_certificate(cert_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def listener_for(request: WSUpgradeRequest) -> EchoListener:
        return EchoListener()

    return await ws_create_server(listener_for, host, port, ssl=context)


async def serve(cert_dir: Path, host: str, port: int) -> None:
    """Listen until SIGTERM or SIGINT."""
    server = await start(cert_dir, host, port)
    bound = server.sockets[0].getsockname()[1]
    print(json.dumps({"message": LISTENING, "url": f"https://{host}:{bound}"}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await server.wait_closed()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._echo_peer", description=__doc__)
    parser.add_argument("--cert-dir", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.run(serve(args.cert_dir, args.host, args.port))
    except ImportError:  # pragma: no cover - uvloop is a dependency of the backend
        asyncio.run(serve(args.cert_dir, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
