"""A simulated browser for backend tests: the real browser protocol over a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .speech import chunks, silence, synthesize_pcm16

EVENT_TIMEOUT_S = 30.0


@dataclass
class BrowserLog:
    """Every frame one simulated browser received, in order."""

    frames: list[dict[str, Any] | bytes] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def messages(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            f for f in self.frames if isinstance(f, dict) and (kind is None or f["type"] == kind)
        ]

    def audio(self) -> bytes:
        return b"".join(f for f in self.frames if isinstance(f, bytes))

    def final(self, role: str) -> list[str]:
        return [m["text"] for m in self.messages("transcript") if m["role"] == role and m["final"]]

    async def wait_for(
        self, predicate: Callable[[BrowserLog], bool], limit_s: float = EVENT_TIMEOUT_S
    ) -> None:
        async with asyncio.timeout(limit_s), self.changed:
            await self.changed.wait_for(lambda: predicate(self) or self.close_code is not None)
        if not predicate(self):
            raise AssertionError(f"socket closed first: {self.close_code} {self.close_reason}")


def count(kind: str) -> Callable[[BrowserLog], int]:
    return lambda log: len(log.messages(kind))


@contextlib.asynccontextmanager
async def browser(
    url: str, *, hello: dict[str, Any] | None = None, origin: str | None = None
) -> AsyncIterator[tuple[ClientConnection, BrowserLog]]:
    """Connect, send hello (unless `hello` is {}), and record everything received."""
    log = BrowserLog()
    headers = {"Origin": origin} if origin else None
    async with connect(url, additional_headers=headers, max_size=2**22) as ws:
        if hello != {}:
            # A refused connection may already be closed by the server: that is recorded.
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps(hello or {"type": "hello", "version": 1}))

        async def pump() -> None:
            try:
                async for frame in ws:
                    async with log.changed:
                        log.frames.append(frame if isinstance(frame, bytes) else json.loads(frame))
                        log.changed.notify_all()
            except ConnectionClosed:
                pass
            async with log.changed:
                rcvd = ws.close_code
                log.close_code = rcvd if rcvd is not None else 1006
                log.close_reason = ws.close_reason or ""
                log.changed.notify_all()

        task = asyncio.create_task(pump(), name="test-browser-reader")
        try:
            yield ws, log
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def stream_speech(
    ws: ClientConnection, text: str, *, lead_ms: int = 300, tail_ms: int = 1000
) -> None:
    """Send espeak-ng speech as 20 ms binary PCM16 frames, paced like a microphone."""
    await stream_pcm(ws, silence(lead_ms) + synthesize_pcm16(text) + silence(tail_ms))


async def stream_pcm(ws: ClientConnection, pcm: bytes) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, chunk in enumerate(chunks(pcm, 20)):
        await ws.send(chunk)
        delay = start + (i + 1) * 0.02 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
