"""A lean WebSocket load generator for the proxy benchmark: many paced audio sessions, one loop.

Each session is a minimal RFC 6455 client written as an `asyncio.Protocol`: every outgoing
frame is built and masked once per run (the same bytes serve every session), a send is one
`transport.write` from a `loop.call_at` timer, and incoming frames are parsed in
`data_received` without a reader task or queue. That keeps the per-chunk cost of the load
generator to a few microseconds, so it can drive hundreds of real-time sessions on one core
and the latency it reports is the servers', not its own.

Every 20 ms chunk carries its sequence number in its first samples (`_audio_markers`), so
each reply is matched to its send time even if the backend drops audio. The client itself is
`_ws_client.WsClient`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ._audio_markers import (
    SeqTracker,
    chunk_markers,
    direct_frames,
    json_audio_marker,
    proxied_frames,
)
from ._percentiles import summarize_ms
from ._ws_client import OP_TEXT, WsClient, client_frame

CHUNK_S = 0.02
LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
LIVE_SETUP = '{"setup":{"model":"models/gemini-3.8-live"}}'
HELLO = '{"type":"hello","version":1}'
Kind = Literal["direct", "proxied"]


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
