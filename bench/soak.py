"""Soak: one spoken conversation kept alive across many Live rotations and injected drops.

`python -m bench.soak --minutes M --json` starts the Live emulator (script brain, TLS) with
a connection lifetime of seconds (`--lifetime`, `--goaway-notice`) and a 1011 drop
injected on every connection that is still streaming a reply `--drop-after` seconds after
its setup, and the backend (`liveavatar serve`) as child processes. One simulated browser
then talks to the backend for M minutes: the microphone streams in real time throughout
(silence between questions), a question is spoken (espeak-ng) once the previous turn is
complete, one after another from a short script. So Live connections rotate on `goAway`
(switching at a turn boundary) or drop mid-answer (the backend reconnects with the
resumption handle) again and again under one conversation.

Keys (one JSON object on stdout):
- `rotations`, `reconnects`: the backend's `liveavatar_live_rotations_total` and
  `liveavatar_live_reconnects_total` over the run;
- `audio_gap_ms_max`: the longest silence the page's player would insert in the audio
  that arrived within a second of a rotation (the moment the backend logs it). The player
  starts an answer `PREBUFFER_MS` after its first frame (the page's default), so frame i
  is due then plus the audio before it, and a frame later than that is a gap of its
  lateness. `audio_gap_ms_max_elsewhere`: the same for the audio that arrived near
  neither a rotation nor a drop (a drop cuts its answer: what arrived around it is not
  counted either way);
- `arrival_late_ms`: how late those frames arrived with no buffer at all (p50/p95/max
  of each answer's latest frame), `at_rotations` and `elsewhere`: what the pre-buffer
  has to absorb;
- `questions`, `turns_completed` (`turn_complete` seen), `stored_turns` (the backend's
  store, read after the conversation ended), `unanswered` (questions without a
  `turn_complete` within `TURN_TIMEOUT_S`), `lost_turns` (questions with no stored turn,
  plus unanswered ones), `duplicated_turns` (stored turns beyond the questions);
- `rss_mb_start` (the backend's RSS after the first turn), `rss_mb_end` (at the end, the
  conversation still open), `rss_mb_samples` (every `--rss-every` seconds);
- `errors`: fatal errors and unexpected closes the browser saw; `backend_log_warnings`.

Targets (docs/PERFORMANCE.md): `lost_turns == 0`, `audio_gap_ms_max <= 50`, RSS growth
within noise over 10 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.support.speech import silence, synthesize_pcm16, trim
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveavatar.child_lifetime import sigterm_as_interrupt
from liveavatar.store import DB_FILENAME, SQLiteStore

from ._children import (
    HOST,
    START_TIMEOUT_S,
    Child,
    child_env,
    free_port,
    http_get,
    metric_value,
    wait_healthy,
)
from ._cpu import proc_rss_mb
from ._percentiles import percentile

QUESTIONS = ("what is your name", "tell me a joke", "hello there")
CHUNK_BYTES = 640  # 20 ms of 16 kHz PCM16, as the page sends it
CHUNK_S = 0.02
OUT_BYTES_PER_S = 24_000 * 2
PAUSE_S = 1.0  # between an answer's end and the next question
TURN_TIMEOUT_S = 30.0
PREBUFFER_MS = 70  # frontend/config.js's default PREBUFFER_MS
NEAR_S = 1.0  # an answer this close to a rotation or a drop is "at" it
STORE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class SoakConfig:
    minutes: float
    lifetime_s: float = 8.0
    goaway_notice_s: float = 3.0
    drop_after_s: float = 6.5
    rss_every_s: float = 30.0


@dataclass
class Turn:
    """One question and what came back for it."""

    asked_at: float
    ended_at: float | None = None
    frames: list[tuple[float, int]] = field(default_factory=list)  # (arrival, bytes)

    def lateness(self) -> list[tuple[float, float]]:
        """(arrival, ms late) of each frame against the answer's playback clock with no
        buffer: frame i is due at the first frame's arrival plus the audio before it."""
        out: list[tuple[float, float]] = []
        played = 0
        for arrival, size in self.frames:
            due = self.frames[0][0] + played / OUT_BYTES_PER_S
            out.append((arrival, round(max(0.0, arrival - due) * 1000, 1)))
            played += size
        return out


def near(t: float, moments: Sequence[float]) -> bool:
    return any(abs(t - m) <= NEAR_S for m in moments)


def worst_late_ms(turns: Sequence[Turn], keep: Callable[[float], bool]) -> list[float]:
    """Each answer's latest frame among those that arrived at a moment `keep` accepts."""
    worst = []
    for turn in turns:
        late = [ms for arrival, ms in turn.lateness() if keep(arrival)]
        if late:
            worst.append(max(late))
    return worst


def gap_ms(late_ms: Sequence[float], prebuffer_ms: float = PREBUFFER_MS) -> float | None:
    """The longest silence a player that buffers `prebuffer_ms` first would insert."""
    return max(0.0, round(max(late_ms) - prebuffer_ms, 1)) if late_ms else None


@dataclass
class Browser:
    """The simulated page's side of the conversation."""

    ws: ClientConnection
    turns: list[Turn] = field(default_factory=list)
    completed: asyncio.Event = field(default_factory=asyncio.Event)
    turns_completed: int = 0
    session_id: str | None = None
    errors: list[str] = field(default_factory=list)
    drops: list[float] = field(default_factory=list)  # when Live dropped (`live_reconnecting`)
    speech: bytearray = field(default_factory=bytearray)  # waiting to be "spoken"

    async def microphone(self) -> None:
        """Stream 20 ms chunks in real time for as long as the socket lives."""
        loop = asyncio.get_running_loop()
        quiet = silence(20)
        due = loop.time()
        while True:
            chunk = bytes(self.speech[:CHUNK_BYTES]) or quiet
            del self.speech[:CHUNK_BYTES]
            await self.ws.send(chunk.ljust(CHUNK_BYTES, b"\0"))
            due += CHUNK_S
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def listen(self) -> None:
        loop = asyncio.get_running_loop()
        async for frame in self.ws:
            now = loop.time()
            if isinstance(frame, bytes):
                if self.turns and self.turns[-1].ended_at is None:
                    self.turns[-1].frames.append((now, len(frame)))
                continue
            msg = json.loads(frame)
            kind = msg.get("type")
            if kind == "ready":
                self.session_id = msg["session_id"]
            elif kind == "turn_complete":
                self.turns_completed += 1
                if self.turns and self.turns[-1].ended_at is None:
                    self.turns[-1].ended_at = now
                self.completed.set()
            elif kind == "error" and msg.get("code") == "live_reconnecting":
                self.drops.append(now)
            elif kind == "error" and msg.get("fatal"):
                self.errors.append(f"{msg.get('code')}: {msg.get('message')}")

    async def ask(self, pcm: bytes) -> bool:
        """Speak one question; whether its turn completed in time."""
        self.completed.clear()
        self.turns.append(Turn(asyncio.get_running_loop().time()))
        self.speech += pcm
        try:
            async with asyncio.timeout(TURN_TIMEOUT_S):
                await self.completed.wait()
        except TimeoutError:
            self.turns[-1].ended_at = asyncio.get_running_loop().time()
            return False
        return True


NAMES = ("liveavatar_live_rotations_total", "liveavatar_live_reconnects_total")


async def read_counters(port: int) -> dict[str, float]:
    """The backend's rotation and reconnect counters."""
    _, body = await http_get(port, "/metrics")
    return {name: metric_value(body, name) or 0.0 for name in NAMES}


def watch_rotations(backend: Child, into: list[float]) -> None:
    """Note when the backend logs each rotation (its log line arrives within a few ms)."""
    loop = asyncio.get_running_loop()

    def watch(entry: dict[str, Any]) -> None:
        if entry.get("message") == "Live connection rotated":
            into.append(loop.time())

    backend._watchers.append(watch)


def _spread(values: list[float]) -> dict[str, float | None]:
    present = sorted(values)
    if not present:
        return {"p50": None, "p95": None, "max": None}
    return {
        "p50": round(percentile(present, 0.5), 1),
        "p95": round(percentile(present, 0.95), 1),
        "max": present[-1],
    }


async def _stored_turns(data_dir: Path, session_id: str) -> int | None:
    """The conversation's turns once the backend has written its end (bounded)."""
    store = SQLiteStore(data_dir / DB_FILENAME)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STORE_TIMEOUT_S):
                while True:
                    conv = await store.get_conversation(session_id)
                    if conv is not None and conv.ended_at is not None:
                        return conv.metrics.turns
                    await asyncio.sleep(0.1)  # polling interval, not a readiness guess
        return None
    finally:
        await store.close()


async def converse(
    cfg: SoakConfig, port: int, backend_pid: int, data_dir: Path, rotations: list[float]
) -> dict[str, Any]:
    """The conversation itself, and what it measured; `rotations` fills as it goes."""
    loop = asyncio.get_running_loop()
    spoken = [trim(synthesize_pcm16(q)) + silence(1000) for q in QUESTIONS]
    before = await read_counters(port)
    rss: list[float] = []
    questions = unanswered = 0
    async with connect(f"ws://{HOST}:{port}/ws", max_size=2**22) as ws:
        page = Browser(ws)
        await ws.send(json.dumps({"type": "hello", "version": 1}))
        tasks = [
            asyncio.create_task(page.listen(), name="soak-listen"),
            asyncio.create_task(page.microphone(), name="soak-mic"),
        ]
        try:
            deadline = loop.time() + cfg.minutes * 60
            next_rss = loop.time()
            while loop.time() < deadline or questions == 0:
                answered = await page.ask(spoken[questions % len(spoken)])
                questions += 1
                unanswered += not answered
                if loop.time() >= next_rss or questions == 1:
                    rss.append(round(proc_rss_mb(backend_pid) or 0.0, 1))
                    next_rss = loop.time() + cfg.rss_every_s
                if any(t.done() for t in tasks):
                    page.errors.append(f"socket closed: {ws.close_code} {ws.close_reason}")
                    break
                await asyncio.sleep(PAUSE_S)
            rss_end = round(proc_rss_mb(backend_pid) or 0.0, 1)
            after = await read_counters(port)
            await ws.send(json.dumps({"type": "bye"}))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(ConnectionClosed):
            await ws.close()
    stored = await _stored_turns(data_dir, page.session_id) if page.session_id else None
    # A drop cuts its answer: what arrived just before it is no rotation's doing.
    at_rotation = worst_late_ms(
        page.turns, lambda t: near(t, rotations) and not near(t, page.drops)
    )
    elsewhere = worst_late_ms(
        page.turns, lambda t: not near(t, rotations) and not near(t, page.drops)
    )
    stored_n = stored or 0
    return {
        "rotations": int(after[NAMES[0]] - before[NAMES[0]]),
        "reconnects": int(after[NAMES[1]] - before[NAMES[1]]),
        "audio_gap_ms_max": gap_ms(at_rotation),
        "audio_gap_ms_max_elsewhere": gap_ms(elsewhere),
        "prebuffer_ms": PREBUFFER_MS,
        "arrival_late_ms": {
            "at_rotations": _spread(at_rotation),
            "elsewhere": _spread(elsewhere),
        },
        "answers_at_rotations": len(at_rotation),
        "rotations_seen_in_log": len(rotations),
        "questions": questions,
        "turns_completed": page.turns_completed,
        "stored_turns": stored,
        "unanswered": unanswered,
        "lost_turns": max(0, questions - stored_n) + unanswered,
        "duplicated_turns": max(0, stored_n - questions),
        "rss_mb_start": rss[0] if rss else None,
        "rss_mb_end": rss_end,
        "rss_mb_samples": rss,
        "errors": page.errors,
    }


async def run(cfg: SoakConfig) -> dict[str, Any]:
    emulator: Child | None = None
    backend: Child | None = None
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        try:
            emulator = await Child.spawn(
                "emulator",
                [sys.executable, "-m", "liveavatar", "emulator", "--port", "0"]
                + ["--cert-dir", tmp, "--lifetime", str(cfg.lifetime_s)]
                + ["--goaway-notice", str(cfg.goaway_notice_s)]
                + ["--fault-close-after", str(cfg.drop_after_s)],
                child_env(LOG_LEVEL="INFO", NO_GCE_CHECK="true"),
                None,
            )
            listening = await emulator.wait_for_log("live emulator listening", START_TIMEOUT_S)
            emu_port = urlsplit(str(listening["url"])).port
            port = free_port()
            data_dir = Path(tmp) / "data"
            backend = await Child.spawn(
                "backend",
                [sys.executable, "-m", "liveavatar", "serve"],
                child_env(
                    LIVE_BACKEND="emulator",
                    VERTEX_AI_ENDPOINT=f"https://{HOST}:{emu_port}",
                    LIVE_CA_FILE=str(Path(tmp) / "cert.pem"),
                    DATA_DIR=str(data_dir),
                    MEDIA_DIR=str(Path(tmp) / "media"),
                    HOST=HOST,
                    PORT=str(port),
                    QUOTA_MINUTES_PER_DAY="100000",
                    LOG_LEVEL="INFO",  # each rotation's log line marks its moment
                    NO_GCE_CHECK="true",
                    ENVIRONMENT="local",
                ),
                None,
            )
            await wait_healthy(backend, port, START_TIMEOUT_S)
            rotations: list[float] = []
            watch_rotations(backend, rotations)
            result = await converse(cfg, port, backend.proc.pid, data_dir, rotations)
            warnings: Counter[str] = backend.log_counts
        finally:
            for child in (backend, emulator):
                if child is not None:
                    await child.stop()
    return {
        "minutes": cfg.minutes,
        "emulator": {
            "lifetime_s": cfg.lifetime_s,
            "goaway_notice_s": cfg.goaway_notice_s,
            "drop_after_s": cfg.drop_after_s,
        },
        **result,
        "backend_log_warnings": dict(warnings.most_common(10)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--lifetime", type=float, default=SoakConfig.lifetime_s)
    parser.add_argument("--goaway-notice", type=float, default=SoakConfig.goaway_notice_s)
    parser.add_argument("--drop-after", type=float, default=SoakConfig.drop_after_s)
    parser.add_argument("--rss-every", type=float, default=SoakConfig.rss_every_s)
    parser.add_argument("--json", action="store_true", help="one JSON object (the default)")
    args = parser.parse_args(argv)
    cfg = SoakConfig(
        args.minutes, args.lifetime, args.goaway_notice, args.drop_after, args.rss_every
    )
    try:
        with sigterm_as_interrupt():
            result = asyncio.run(run(cfg))
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
