"""Test helpers around the real google-genai SDK and raw WebSocket clients of the emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from google import genai
from google.auth.credentials import Credentials as AuthCredentials
from google.genai import errors, types
from google.oauth2.credentials import Credentials

from liveavatar.audio.pcm import rms as pcm_rms
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.tls import client_context

from .speech import chunks, silence, synthesize_pcm16

MODEL = "gemini-3.8-live"
EVENT_TIMEOUT_S = 30.0


def sdk_client(
    server: EmulatorServer, *, vertex: bool = False, key: str = "test-key"
) -> genai.Client:
    """A real SDK client aimed at the emulator, trusting its certificate in-process."""
    ctx = client_context(server.config.cert_dir)
    opts = types.HttpOptions(base_url=server.url, async_client_args={"ssl": ctx})
    if vertex:
        creds: AuthCredentials = Credentials(token=key)  # type: ignore[no-untyped-call]
        return genai.Client(
            vertexai=True,
            project="demo-project",
            location="us-central1",
            credentials=creds,
            http_options=opts,
        )
    return genai.Client(api_key=key, http_options=opts)


@dataclass
class Transcript:
    """Everything one connection received, gathered by a background reader."""

    messages: list[types.LiveServerMessage] = field(default_factory=list)
    error: BaseException | None = None
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def input_text(self) -> str:
        return _join(
            m.server_content.input_transcription.text
            for m in self.messages
            if m.server_content and m.server_content.input_transcription
        )

    def output_text(self) -> str:
        return _join(
            m.server_content.output_transcription.text
            for m in self.messages
            if m.server_content and m.server_content.output_transcription
        )

    def audio(self) -> bytes:
        return b"".join(m.data or b"" for m in self.messages if m.server_content)

    def count(self, predicate: Callable[[types.LiveServerMessage], bool]) -> int:
        return sum(1 for m in self.messages if predicate(m))

    def turn_ends(self) -> list[str]:
        """How each turn ended, in order: "interrupted", "generation_complete" and
        "turn_complete" as the messages said them."""
        out: list[str] = []
        for m in self.messages:
            sc = m.server_content
            if sc and sc.interrupted:
                out.append("interrupted")
            if sc and sc.generation_complete:
                out.append("generation_complete")
            if sc and sc.turn_complete:
                out.append("turn_complete")
        return out

    async def wait_for(
        self,
        predicate: Callable[[Transcript], bool],
        limit_s: float = EVENT_TIMEOUT_S,
    ) -> None:
        """Wait until `predicate(self)` holds; fails on timeout or if the reader died first."""
        async with asyncio.timeout(limit_s), self.changed:
            await self.changed.wait_for(lambda: predicate(self) or self.error is not None)
        if not predicate(self):
            raise AssertionError(f"connection ended first: {self.error!r}")


def _join(parts: Any) -> str:
    return " ".join(" ".join(p or "" for p in parts).split())


def turn_completes(t: Transcript) -> int:
    return t.count(lambda m: bool(m.server_content and m.server_content.turn_complete))


rms = pcm_rms  # tests read levels with the same function the product uses


@contextlib.asynccontextmanager
async def reading(session: Any) -> AsyncIterator[Transcript]:
    """Collect every message of an SDK session in the background (across turns)."""
    transcript = Transcript()

    async def pump() -> None:
        try:
            while True:
                async for msg in session.receive():
                    async with transcript.changed:
                        transcript.messages.append(msg)
                        transcript.changed.notify_all()
        except errors.APIError as exc:
            async with transcript.changed:
                transcript.error = exc
                transcript.changed.notify_all()

    task = asyncio.create_task(pump(), name="test-live-reader")
    try:
        yield transcript
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def live_session(
    server: EmulatorServer, config: types.LiveConnectConfig, *, vertex: bool = False
) -> AsyncIterator[tuple[Any, Transcript]]:
    """An SDK session on `server` (`MODEL`, `config`), its messages read in the background."""
    client = sdk_client(server, vertex=vertex)
    async with (
        client.aio.live.connect(model=MODEL, config=config) as session,
        reading(session) as transcript,
    ):
        yield session, transcript


async def speak(session: Any, text: str, *, lead_ms: int = 300, tail_ms: int = 1000) -> None:
    """Stream espeak-ng speech of `text` in real-time 20 ms chunks, as a microphone would."""
    pcm = silence(lead_ms) + synthesize_pcm16(text) + silence(tail_ms)
    await stream_pcm(session, pcm)


async def stream_pcm(session: Any, pcm: bytes) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, chunk in enumerate(chunks(pcm, 20)):
        await session.send_realtime_input(
            audio=types.Blob(data=chunk, mime_type="audio/pcm;rate=16000")
        )
        # Real-time pacing of a simulated microphone, not a wait for readiness.
        delay = start + (i + 1) * 0.02 - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
