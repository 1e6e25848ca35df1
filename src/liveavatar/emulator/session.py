"""One emulated Live connection: setup, input dispatch, lifetime and faults; the model's
turns are `model_turns.py`."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from liveavatar.audio.pcm import parse_pcm_rate

from . import outbound, watchdogs
from .brain import Brain
from .config import EmulatorConfig
from .errors import INVALID_ARGUMENT, LiveCloseError
from .listener import Listener, vad_config_for
from .model_turns import ModelTurns
from .resumption import ResumptionStore
from .routing import Route
from .search import SearchIndex
from .setup import accept_setup
from .stt import RecognizerPool
from .tts import Synthesizer
from .video_speaker import VideoSpeaker
from .vision import InvalidFrameError, validate_frame
from .voice import Voice, make_voice
from .wire import (
    Blob,
    ClientContent,
    ContextUpdate,
    RealtimeInput,
    Setup,
    ToolResponse,
    ToolsUpdate,
    parse_client_message,
)

SETUP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SessionDeps:
    """What every connection of one server shares."""

    config: EmulatorConfig
    brain: Brain
    resumption: ResumptionStore
    recognizers: RecognizerPool
    synth: Synthesizer
    search: SearchIndex = field(default_factory=SearchIndex.load)  # grounding's fixture


class PeerClosed(Exception):
    """The client ended the connection; ends the session's task group."""


class LiveSession:
    """Serves one client connection after the handshake, until either side ends it."""

    def __init__(self, ws: ServerConnection, route: Route, deps: SessionDeps) -> None:
        self.ws = ws
        self.route = route
        self.deps = deps
        self.id = "sess-" + secrets.token_hex(6)
        self._cfg = deps.config
        self._setup = Setup()
        self._listener: Listener | None = None
        self._speaker: Voice | None = None
        self._turns: ModelTurns | None = None
        self._audio_streaming = asyncio.Event()
        self._stalled = asyncio.Event()

    # ---- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection; raises LiveCloseError to have it closed with a code."""
        try:
            async with asyncio.timeout(SETUP_TIMEOUT_S):
                first = await self.ws.recv()
        except TimeoutError as exc:
            raise LiveCloseError(INVALID_ARGUMENT, "No setup message received.") from exc
        kind, body = parse_client_message(first)
        if kind != "setup" or not isinstance(body, Setup):
            raise LiveCloseError(INVALID_ARGUMENT, "The first message must be setup.")
        try:
            await self._serve(body)
        finally:
            if isinstance(self._speaker, VideoSpeaker):
                self._speaker.close()

    async def _serve(self, setup: Setup) -> None:
        blocked = await self._apply_setup(setup)
        turns = self._model()
        await self.send(outbound.setup_complete(self.id))
        if turns.sends_handles:
            await turns.send_handle()
        async with asyncio.TaskGroup() as tg:
            turns.tg = tg
            assert self._listener is not None
            tg.create_task(self._read(), name=f"{self.id}-reader")
            tg.create_task(self._listener.run(), name=f"{self.id}-listener")
            tg.create_task(
                watchdogs.lifetime(self._cfg, self.send, self._stalled), name=f"{self.id}-lifetime"
            )
            if blocked:
                tg.create_task(watchdogs.refuse_avatar(), name=f"{self.id}-avatar-refusal")
            faults = self._cfg.faults
            if faults.close_after_s is not None:
                tg.create_task(
                    watchdogs.fault_close(faults.close_after_s, self._audio_streaming),
                    name=f"{self.id}-fault",
                )
            if faults.stall_after_s is not None:
                tg.create_task(
                    watchdogs.fault_stall(faults.stall_after_s, self._stalled),
                    name=f"{self.id}-stall",
                )

    async def send(self, message: dict[str, Any] | str) -> None:
        if self._stalled.is_set():
            await asyncio.Future()  # a stalled server never sends again
        text = message if isinstance(message, str) else outbound.dumps(message)
        await self.ws.send(text if self._cfg.text_frames else text.encode())

    async def _apply_setup(self, setup: Setup) -> bool:
        """Accept `setup` (or raise LiveCloseError); True when the avatar's reference
        image is to be refused after setupComplete."""
        accepted = accept_setup(setup, self._cfg, self.route, self.deps.resumption)
        self._setup = setup
        self._speaker = await make_voice(
            setup,
            accepted,
            synth=self.deps.synth,
            send=self.send,
            first_audio_delay_s=self._cfg.faults.first_audio_delay_ms / 1000,
            on_first_audio=self._audio_streaming.set,
        )
        turns = self._turns = ModelTurns(
            session_id=self.id,
            setup=setup,
            accepted=accepted,
            speaker=self._speaker,
            route=self.route,
            brain=self.deps.brain,
            search=self.deps.search,
            resumption=self.deps.resumption,
            send=self.send,
            audio_streaming=self._audio_streaming,
        )
        self._listener = Listener(
            pool=self.deps.recognizers,
            phrases=self.deps.brain.phrases(turns.functions),
            vad_config=vad_config_for(setup),
            on_activity_start=turns.activity_start,
            on_words=self._on_words,
            on_utterance=turns.utterance,
        )
        return isinstance(self._speaker, VideoSpeaker) and self._speaker.blocked

    def _model(self) -> ModelTurns:
        assert self._turns is not None, "setup comes first"
        return self._turns

    # ---- input -----------------------------------------------------------------------

    async def _read(self) -> None:
        async for raw in self.ws:
            if self._stalled.is_set():
                await asyncio.Future()
            kind, body = parse_client_message(raw)
            if isinstance(body, RealtimeInput):
                await self._realtime(body)
            elif isinstance(body, ClientContent):
                await self._model().client_content(body)
            elif isinstance(body, ToolResponse):
                await self._model().tool_response(body)
            elif isinstance(body, ContextUpdate):
                self._context_update(body)
            else:
                raise LiveCloseError(INVALID_ARGUMENT, "setup may only be sent once.")
        raise PeerClosed

    async def _realtime(self, msg: RealtimeInput) -> None:
        listener = self._listener
        assert listener is not None
        blobs: list[Blob] = list(msg.media_chunks or [])
        blobs += [b for b in (msg.audio, msg.video) if b is not None]
        for blob in blobs:
            mime = blob.mime_type.lower()
            if mime.startswith("audio/"):
                try:
                    rate = parse_pcm_rate(mime) or 16_000
                except ValueError as exc:
                    raise LiveCloseError(
                        INVALID_ARGUMENT, f"Unsupported MIME type: {mime[:40]}"
                    ) from exc
                pcm = blob.decoded()
                await listener.audio(pcm[: len(pcm) & ~1], rate)
            elif mime.startswith("image/"):
                try:
                    turns = self._model()
                    turns.frame = await asyncio.to_thread(validate_frame, blob.decoded(), mime)
                    turns.conv.frames += 1  # in the context from now on
                except InvalidFrameError as exc:
                    raise LiveCloseError(INVALID_ARGUMENT, "Invalid image data.") from exc
            else:
                raise LiveCloseError(INVALID_ARGUMENT, f"Unsupported MIME type: {mime[:40]}")
        if (msg.activity_start or msg.activity_end) and listener.automatic:
            raise LiveCloseError(
                INVALID_ARGUMENT,
                "Explicit activity control is not supported when automatic activity "
                "detection is enabled.",
            )
        if msg.activity_start:
            await listener.activity_start()
        if msg.activity_end:
            await listener.activity_end()
        if msg.audio_stream_end:
            await listener.stream_end()
        if msg.text is not None:
            await self._model().text_input(msg.text)

    def _context_update(self, msg: ContextUpdate) -> None:
        turns = self._model()
        if msg.system_instruction is not None:
            si = msg.system_instruction
            turns.conv.instruction = si if isinstance(si, str) else si.text()
        if msg.tools is not None:
            tools = msg.tools.tools if isinstance(msg.tools, ToolsUpdate) else msg.tools
            turns.functions = [fd for t in tools for fd in t.function_declarations or []]
            turns.search_on = any(t.google_search is not None for t in tools)
            assert self._listener is not None
            self._listener.phrases = self.deps.brain.phrases(turns.functions)

    # ---- listener callbacks ----------------------------------------------------------

    async def _on_words(self, text: str) -> None:
        if self._setup.input_audio_transcription is not None:
            await self.send(outbound.input_transcription(text + " "))
