"""A lean WebSocket load generator for the proxy benchmark: many paced audio sessions, one loop.

Each session is a minimal RFC 6455 client written as an `asyncio.Protocol`: every outgoing
frame is built and masked once per run (the same bytes serve every session), a send is one
`transport.write` from a `loop.call_at` timer, and incoming frames are parsed in
`data_received` without a reader task or queue. That keeps the per-chunk cost of the load
generator to a few microseconds, so it can drive hundreds of real-time sessions on one core
and the latency it reports is the servers', not its own.

Every 20 ms chunk carries its sequence number in its first samples (see `marker_chunk`); the
echo at 24 kHz starts with the same value (linear interpolation of equal samples keeps them
exact), so each reply is matched to its send time even if the backend drops audio.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

CHUNK_S = 0.02
IN_CHUNK_BYTES = 640  # 20 ms of 16 kHz PCM16
OUT_CHUNK_BYTES = 960  # 20 ms of 24 kHz PCM16
MARKER_MOD = 32767  # markers are 1..32767 so a silent (all-zero) chunk never matches
MARKER_SAMPLES = 4  # equal leading samples: the resampled echo keeps the value exactly
LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
LIVE_SETUP = '{"setup":{"model":"models/gemini-3.8-live"}}'
HELLO = '{"type":"hello","version":1}'
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEADER_BYTES = 16_384

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

Kind = Literal["direct", "proxied"]


# ---- pure helpers --------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, interpolating linearly between ranks.

    Matches numpy's default ("linear") method. Raises ValueError on an empty sequence.
    """
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError("q must be within [0, 1]")
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99/max in milliseconds (rounded to 0.01) and the sample count `n`."""
    if not seconds:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    ordered = sorted(seconds)
    out: dict[str, float | int | None] = {
        name: round(percentile(ordered, q) * 1000, 2)
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }
    out["max"] = round(ordered[-1] * 1000, 2)
    out["n"] = len(ordered)
    return out


def marker_value(seq: int) -> int:
    """The int16 sample value that marks chunk `seq` (1..MARKER_MOD, wrapping)."""
    return seq % MARKER_MOD + 1


def marker_chunk(seq: int) -> bytes:
    """640 bytes of 16 kHz PCM16: MARKER_SAMPLES samples holding the marker, then silence."""
    head = marker_value(seq).to_bytes(2, "little", signed=True) * MARKER_SAMPLES
    return head + bytes(IN_CHUNK_BYTES - len(head))


class SeqTracker:
    """Maps the markers of received chunks back to sequence numbers, in order.

    Replies come back in order over one connection; a marker that skips ahead means the
    chunks in between were lost (`lost`). A marker for a chunk not sent yet, or not a
    marker at all, counts in `bad`.
    """

    def __init__(self) -> None:
        self.next = 0
        self.received = 0
        self.lost = 0
        self.bad = 0

    def match(self, marker: int, sent: int) -> int | None:
        """The sequence number of the chunk carrying `marker`, given `sent` chunks so far."""
        if not 1 <= marker <= MARKER_MOD:
            self.bad += 1
            return None
        seq = self.next + (marker - 1 - self.next) % MARKER_MOD
        if seq >= sent:
            self.bad += 1
            return None
        self.lost += seq - self.next
        self.next = seq + 1
        self.received += 1
        return seq


def chunk_markers(
    payload: bytes | bytearray, rx_bytes: int, half: int | None
) -> tuple[list[int], int | None]:
    """Markers at every 24 kHz chunk start inside a binary frame of the echoed stream.

    `rx_bytes` is how many stream bytes came before this frame and `half` the low byte of
    a marker that the previous frame cut in two. Returns the markers and the new `half`.
    Frames need not be aligned to chunks: the backend may split or coalesce them.
    """
    markers: list[int] = []
    size = len(payload)
    if half is not None and size:
        markers.append(int.from_bytes(bytes((half, payload[0])), "little", signed=True))
        half = None
    off = (-rx_bytes) % OUT_CHUNK_BYTES
    while off < size:
        if off + 1 < size:
            markers.append(int.from_bytes(payload[off : off + 2], "little", signed=True))
        else:
            half = payload[off]
        off += OUT_CHUNK_BYTES
    return markers, half


def json_audio_marker(payload: bytes | bytearray) -> int | None:
    """The first sample of the audio in a Live `inlineData` message, or None if it has none.

    Decodes only the first four base64 characters (three bytes) instead of the message.
    """
    at = payload.find(b'"data":"')
    if at < 0:
        return None
    head = base64.b64decode(bytes(payload[at + 8 : at + 12]))
    return int.from_bytes(head[:2], "little", signed=True)


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


def direct_frames(count: int) -> list[bytes]:
    """Pre-built Live `realtimeInput` text frames for sequence numbers 0..count-1."""
    key = os.urandom(4)
    out = []
    for seq in range(min(count, MARKER_MOD)):
        data = base64.b64encode(marker_chunk(seq)).decode("ascii")
        msg = (
            '{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"' + data + '"}}}'
        )
        out.append(client_frame(OP_TEXT, msg.encode(), key))
    return out


def proxied_frames(count: int) -> list[bytes]:
    """Pre-built binary frames of raw 16 kHz PCM16 for sequence numbers 0..count-1."""
    key = os.urandom(4)
    return [
        client_frame(OP_BINARY, marker_chunk(seq), key) for seq in range(min(count, MARKER_MOD))
    ]


# ---- the WebSocket client ------------------------------------------------------------------


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


# ---- paced sessions ------------------------------------------------------------------------


@dataclass
class PhaseStats:
    """What all sessions of one phase share: samples and counters."""

    started_at: float = 0.0
    steady_from: float = math.inf
    rtts: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    server_messages: Counter[str] = field(default_factory=Counter)
    error_texts: Counter[str] = field(default_factory=Counter)


class Session:
    """One paced audio session: sends chunk k at `first + k * CHUNK_S`, matches the echoes."""

    def __init__(self, kind: Kind, frames: Sequence[bytes], total: int, stats: PhaseStats) -> None:
        self.kind = kind
        self.frames = frames
        self.total = total
        self.stats = stats
        self.sent = 0
        self.sent_at = [0.0] * total
        self.tracker = SeqTracker()
        self.rx_bytes = 0
        self._half: int | None = None
        self.ws: WsClient | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0

    # -- incoming --

    def on_message(self, payload: bytearray, is_text: bool, now: float) -> None:
        if self.kind == "proxied" and not is_text:
            markers, self._half = chunk_markers(payload, self.rx_bytes, self._half)
            self.rx_bytes += len(payload)
            for marker in markers:
                self._matched(marker, now)
            return
        if self.kind == "direct" and self.ready.done():
            found = json_audio_marker(payload)
            if found is not None:
                self._matched(found, now)
                return
        self._control(payload)

    def _matched(self, marker: int, now: float) -> None:
        seq = self.tracker.match(marker, self.sent)
        if seq is None:
            return
        sent_at = self.sent_at[seq]
        if sent_at >= self.stats.steady_from:
            self.stats.rtts.append(now - sent_at)
        if self.tracker.next >= self.total and not self.finished.done():
            self.finished.set_result(None)

    def _control(self, payload: bytearray) -> None:
        try:
            doc = json.loads(payload)
        except ValueError:
            self.stats.server_messages["unparsable"] += 1
            return
        if not isinstance(doc, dict):
            return
        if self.kind == "direct":
            name = next(iter(doc), "?")
            if name == "setupComplete" and not self.ready.done():
                self.ready.set_result(None)
            self.stats.server_messages[name] += 1
            return
        kind = str(doc.get("type"))
        if kind == "error":
            kind = f"error:{doc.get('code')}"
            fatal = "fatal " if doc.get("fatal") else ""
            self.stats.error_texts[f"{fatal}{doc.get('code')}: {str(doc.get('message'))[:80]}"] += 1
            if doc.get("fatal") and not self.ready.done():
                self.ready.set_exception(ConnectionError(f"fatal error {doc.get('code')}"))
        elif kind == "ready" and not self.ready.done():
            self.ready.set_result(None)
        self.stats.server_messages[kind] += 1

    # -- outgoing --

    def start(self, first: float) -> None:
        """Schedule the chunks; the first at loop time `first`."""
        self._deadline = first
        self._timer = asyncio.get_running_loop().call_at(first, self._tick)

    def _tick(self) -> None:
        ws = self.ws
        if ws is None or ws.closing or ws.lost.done():
            return
        loop = ws.loop
        now = loop.time()
        seq = self.sent
        self.sent_at[seq] = now
        ws.send(self.frames[seq % len(self.frames)])
        self.stats.lags.append(now - self._deadline)
        self.sent = seq + 1
        if self.sent < self.total:
            self._deadline += CHUNK_S
            self._timer = loop.call_at(self._deadline, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @property
    def unanswered(self) -> int:
        return self.sent - self.tracker.received


class WindowProbe(Protocol):
    """Something measured over the steady window of a phase (CPU time, for instance)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Target:
    """Where a phase's sessions connect."""

    kind: Kind
    host: str
    port: int
    path: str
    ssl: ssl.SSLContext | None = None


@dataclass
class PhaseResult:
    """The outcome of one phase."""

    kind: Kind
    requested: int
    connected: int
    rtts: list[float]
    lags: list[float]
    chunks_sent: int
    chunks_received: int
    unanswered: int
    lost_in_order: int
    bad_markers: int
    errors: Counter[str]
    server_messages: Counter[str]
    error_texts: Counter[str]
    received_bytes: int
    server_closed_at_s: list[float]

    def summary(self) -> dict[str, object]:
        """The phase as JSON-ready values."""
        return {
            "connected": self.connected,
            "chunks_sent": self.chunks_sent,
            "chunks_received": self.chunks_received,
            "unanswered": self.unanswered,
            "lost_in_order": self.lost_in_order,
            "bad_markers": self.bad_markers,
            "send_lag_ms": summarize_ms(self.lags),
            "server_messages": dict(self.server_messages),
            "server_errors": dict(self.error_texts.most_common(5)),
            "server_closes": _closes(self.server_closed_at_s),
        }


def _closes(at: list[float]) -> dict[str, float | int | None]:
    """How many sessions the server closed, and when (seconds after streaming began)."""
    if not at:
        return {"count": 0}
    return {"count": len(at), "first_s": round(at[0], 2), "median_s": round(at[len(at) // 2], 2)}


async def _connect(
    target: Target, session: Session, connect_timeout_s: float, stats: PhaseStats
) -> Session | None:
    loop = asyncio.get_running_loop()
    ws: WsClient | None = None
    try:
        async with asyncio.timeout(connect_timeout_s):
            _, ws = await loop.create_connection(
                lambda: WsClient(target.host, target.port, target.path, session.on_message),
                target.host,
                target.port,
                ssl=target.ssl,
                server_hostname=target.host if target.ssl else None,
            )
            session.ws = ws
            await ws.opened
            first = LIVE_SETUP if target.kind == "direct" else HELLO
            ws.send(client_frame(OP_TEXT, first.encode()))
            done, _ = await asyncio.wait(
                [session.ready, ws.lost], return_when=asyncio.FIRST_COMPLETED
            )
            if session.ready not in done:
                raise ConnectionError(f"closed before ready (code {ws.close_code})")
            session.ready.result()
        return session
    except (OSError, TimeoutError, ssl.SSLError, ConnectionError) as exc:
        reason = type(exc).__name__ if isinstance(exc, TimeoutError) else str(exc) or repr(exc)
        stats.errors[f"{target.kind} connect: {reason[:120]}"] += 1
        if ws is not None:
            ws.abort()
        return None


async def run_phase(
    target: Target,
    sessions: int,
    seconds: float,
    *,
    warmup_s: float,
    drain_timeout_s: float = 5.0,
    connect_timeout_s: float = 20.0,
    connect_concurrency: int = 16,
    probes: Sequence[WindowProbe] = (),
    on_connected: Callable[[], None] | None = None,
) -> PhaseResult:
    """Connect `sessions` sessions, stream real-time audio for `seconds`, collect echoes.

    Samples sent in the first `warmup_s` are left out of the round trips; `probes` are
    started when the warm-up ends and stopped when the last chunk is due. `on_connected`
    runs once every session is connected, before the first chunk.
    """
    total = max(1, round(seconds / CHUNK_S))
    frames = direct_frames(total) if target.kind == "direct" else proxied_frames(total)
    stats = PhaseStats()
    gate = asyncio.Semaphore(connect_concurrency)

    async def one() -> Session | None:
        async with gate:
            return await _connect(
                target, Session(target.kind, frames, total, stats), connect_timeout_s, stats
            )

    connecting = [asyncio.create_task(one(), name=f"bench-connect-{i}") for i in range(sessions)]
    live = [s for s in await asyncio.gather(*connecting) if s is not None]
    try:
        if live:
            if on_connected is not None:
                on_connected()
            await _stream(live, total, warmup_s, drain_timeout_s, stats, probes)
    finally:
        await _close_all(live)
    for s in live:
        assert s.ws is not None
        if s.ws.closed_by_server or s.ws.close_code not in (None, 1000):
            stats.errors[f"{target.kind} closed by server (code {s.ws.close_code})"] += 1
    return PhaseResult(
        kind=target.kind,
        requested=sessions,
        connected=len(live),
        rtts=stats.rtts,
        lags=stats.lags,
        chunks_sent=sum(s.sent for s in live),
        chunks_received=sum(s.tracker.received for s in live),
        unanswered=sum(s.unanswered for s in live),
        lost_in_order=sum(s.tracker.lost for s in live),
        bad_markers=sum(s.tracker.bad for s in live),
        errors=stats.errors,
        server_messages=stats.server_messages,
        error_texts=stats.error_texts,
        received_bytes=sum(s.rx_bytes for s in live),
        server_closed_at_s=sorted(
            s.ws.closed_at - stats.started_at
            for s in live
            if s.ws is not None and s.ws.closed_by_server and s.ws.closed_at is not None
        ),
    )


async def _stream(
    live: list[Session],
    total: int,
    warmup_s: float,
    drain_timeout_s: float,
    stats: PhaseStats,
    probes: Sequence[WindowProbe],
) -> None:
    loop = asyncio.get_running_loop()
    t0 = stats.started_at = loop.time() + 0.2
    stats.steady_from = t0 + warmup_s
    stagger = CHUNK_S / len(live)  # spread the sessions' sends evenly over each 20 ms
    for i, s in enumerate(live):
        s.start(t0 + i * stagger)
    end = t0 + total * CHUNK_S
    timers = [loop.call_at(stats.steady_from, p.start) for p in probes]
    timers += [loop.call_at(end, p.stop) for p in probes]
    try:
        await asyncio.sleep(max(0.0, end - loop.time()) + CHUNK_S)
        pending = [
            s.finished
            for s in live
            if not s.finished.done() and s.ws is not None and not s.ws.lost.done()
        ]
        if pending:
            await asyncio.wait(pending, timeout=drain_timeout_s)
    finally:
        for timer in timers:
            timer.cancel()
        for s in live:
            s.stop()


async def _close_all(live: list[Session], timeout_s: float = 5.0) -> None:
    for s in live:
        if s.ws is not None:
            s.ws.close()
    waits = [s.ws.lost for s in live if s.ws is not None and not s.ws.lost.done()]
    if waits:
        await asyncio.wait(waits, timeout=timeout_s)
    for s in live:
        if s.ws is not None and not s.ws.lost.done():
            s.ws.abort()
    # Let aborted transports run connection_lost before the caller moves on.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            for s in live:
                if s.ws is not None:
                    await s.ws.lost
