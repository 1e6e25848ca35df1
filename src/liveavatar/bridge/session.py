"""One browser WebSocket bridged to one Live conversation: reader, writer, Live and watchdog
tasks in one task group, with one place where errors become browser messages and closes."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.genai import types
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from liveavatar import protocol as p
from liveavatar.auth import Admission, Gatekeeper
from liveavatar.errors import (
    CLOSE_GOING_AWAY,
    CLOSE_NORMAL,
    AvatarError,
    HelloTimeout,
    ProtocolError,
    RecoverableProtocolError,
    UnsupportedVersion,
)
from liveavatar.live.events import (
    AudioOut,
    Handle,
    InputText,
    Interrupted,
    LinkEvent,
    OutputText,
    Reconnected,
    Reconnecting,
    Rotated,
    ToolCall,
    ToolCancel,
    TurnComplete,
)
from liveavatar.live.link import LiveLink, Opener
from liveavatar.live.persona import PREBUILT_VOICES, Persona
from liveavatar.log import session_id_var
from liveavatar.media import MediaStore
from liveavatar.media.avatar import list_avatar_media, sign_avatar_media
from liveavatar.server.metrics import Metrics
from liveavatar.server.personas import ActivePersona
from liveavatar.store import Store
from liveavatar.tools import ToolRegistry

from .budget import AudioBudget
from .handles import HandleDirectory
from .inbound import BrowserGone, decode_video_frame, receive_frame
from .outbox import Outbox
from .recorder import SessionRecorder
from .tool_calls import ToolCalls
from .turns import TurnTracker

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 2.0
MAX_BAD_FRAMES = 20  # recoverable protocol errors tolerated per session
RATE_NOTICE_INTERVAL_S = 1.0


class _SessionEnded(Exception):
    """The session ends on purpose (bye, shutdown) with this close code."""

    def __init__(self, code: int) -> None:
        self.code = code


@dataclass(frozen=True)
class BridgeDeps:
    """What every session of one backend process shares (built in the app's lifespan)."""

    opener_for: Callable[[Persona], Opener]
    personas: Callable[[], Awaitable[ActivePersona]]
    gate: Gatekeeper
    store: Store
    media: MediaStore
    tools: ToolRegistry
    metrics: Metrics
    handles: HandleDirectory
    shutting_down: asyncio.Event
    hello_timeout_s: float = 10.0


class BridgeSession:
    """Serves one accepted browser WebSocket until either side ends it."""

    def __init__(self, ws: WebSocket, deps: BridgeDeps, *, client_ip: str) -> None:
        self.ws = ws
        self.deps = deps
        self.client_ip = client_ip
        self._admission: Admission | None = None
        self._recorder: SessionRecorder | None = None
        self.id = "s-" + secrets.token_urlsafe(12)
        self._outbox = Outbox()
        self._turns = TurnTracker()
        self._link: LiveLink | None = None
        self._loop = asyncio.get_running_loop()
        self._tools = ToolCalls(
            name=self.id,
            registry=deps.tools,
            metrics=deps.metrics,
            outbox=self._outbox,
            respond=self._respond_to_tools,
        )
        self._bad_frames = 0
        self._budget = AudioBudget(self._loop.time())
        self._rate_noticed_at = float("-inf")

    async def run(self) -> None:
        """Handshake, then bridge until the end; every error is turned into a close here."""
        metrics = self.deps.metrics
        metrics.sessions.inc()
        metrics.active_sessions.inc()
        token = session_id_var.set(self.id)
        close_code = CLOSE_NORMAL
        try:
            close_code = await self._serve()
        except* BrowserGone:
            close_code = CLOSE_NORMAL
        except* AvatarError as group:
            err = _first(group)
            assert isinstance(err, AvatarError)
            if self._recorder is not None:
                self._recorder.error()
            metrics.errors.labels(err.fault.code).inc()
            logger.warning(
                "session ended by error", extra={"code": err.fault.code, "error": str(err)}
            )
            await self._send_now(p.Error(code=err.fault.code, message=str(err), fatal=True))
            close_code = err.fault.close_code or CLOSE_NORMAL
        except* _SessionEnded as group:
            ended = _first(group)
            assert isinstance(ended, _SessionEnded)
            close_code = ended.code
            if close_code == CLOSE_GOING_AWAY:
                await self._send_now(
                    p.GoingAway(reason="The server is restarting.", reconnect_after_ms=250)
                )
        except* Exception:
            metrics.errors.labels("internal").inc()
            logger.exception("session failed")
            await self._send_now(
                p.Error(code="internal", message="Something went wrong on our side.", fatal=True)
            )
            close_code = 1011
        finally:
            metrics.active_sessions.dec()
            metrics.dropped_audio.inc(self._outbox.dropped_chunks)
            await self._teardown(close_code)
            await self._settle()
            session_id_var.reset(token)

    async def _serve(self) -> int:
        self.deps.gate.check_connection(self.client_ip)
        hello = await self._hello()
        admission = self._admission = await self.deps.gate.admit(
            hello.token, client_ip=self.client_ip
        )
        active = await self.deps.personas()
        persona = active.persona
        if hello.voice is not None:
            voice = hello.voice.strip().capitalize()
            if voice not in PREBUILT_VOICES:
                raise ProtocolError(f"Unknown voice {hello.voice[:40]!r}.")
            persona = dataclasses.replace(persona, voice=voice)
        resume_id = hello.session_id
        handle = self.deps.handles.get(resume_id, self._loop.time()) if resume_id else None
        if handle and resume_id:
            self.id = resume_id
            session_id_var.set(self.id)
        link = self._link = LiveLink(self.deps.opener_for(persona), name=self.id)
        await link.start(handle)
        recorder = self._recorder = SessionRecorder(
            self.deps.store,
            conversation_id=self.id,
            user_id=admission.identity.uid,
            persona_version=active.version,
            first_index=await self._turns_so_far() if handle else 0,
        )
        await recorder.start()
        self._outbox.put_control(
            p.Ready(
                session_id=self.id,
                resumed=handle is not None,
                voice=persona.voice,
                persona=persona.name,
                avatar=p.AvatarMedia(**await self._avatar_urls(active)),
            )
        )
        logger.info(
            "session ready",
            extra={"resumed": handle is not None, "uid": admission.identity.uid},
        )
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._read_browser(), name=f"{self.id}-browser")
            tg.create_task(self._read_live(link), name=f"{self.id}-live")
            tg.create_task(self._write_browser(), name=f"{self.id}-writer")
            tg.create_task(self._watch_shutdown(), name=f"{self.id}-watchdog")
            tg.create_task(recorder.run(), name=f"{self.id}-recorder")
            tg.create_task(admission.quota.enforce(self._quota_warning), name=f"{self.id}-quota")
        return CLOSE_NORMAL

    async def _turns_so_far(self) -> int:
        try:
            existing = await self.deps.store.get_conversation(self.id)
        except Exception:
            logger.warning("could not read the resumed conversation")
            return 0
        return existing.metrics.turns if existing else 0

    async def _avatar_urls(self, active: ActivePersona) -> dict[str, list[str]]:
        try:
            names = active.avatar_media or await list_avatar_media(self.deps.media)
            return await sign_avatar_media(self.deps.media, names)
        except Exception:
            # The drawn avatar needs no media: a media hiccup must not stop a conversation.
            logger.warning("avatar media unavailable; the page draws its avatar")
            return {}

    async def _quota_warning(self, warning: AvatarError) -> None:
        self._outbox.put_control(p.Error(code=warning.fault.code, message=str(warning)))

    async def _hello(self) -> p.Hello:
        try:
            async with asyncio.timeout(self.deps.hello_timeout_s):
                while True:
                    msg = await self._receive()
                    if isinstance(msg, p.Hello):
                        break
                    # Audio or anything else before hello is a protocol violation.
                    raise ProtocolError("The first message must be hello.")
        except TimeoutError as exc:
            raise HelloTimeout("No hello received in time.") from exc
        if msg.version != p.PROTOCOL_VERSION:
            raise UnsupportedVersion(
                f"Protocol version {msg.version} is not supported; use {p.PROTOCOL_VERSION}."
            )
        return msg

    # ---- browser -> Live -------------------------------------------------------------

    async def _receive(self) -> p.ClientMessage | bytes:
        return await receive_frame(self.ws)

    async def _read_browser(self) -> None:
        assert self._link is not None
        link = self._link
        while True:
            try:
                msg = await self._receive()
                if isinstance(msg, bytes):
                    await self._audio_in(link, msg)
                elif isinstance(msg, p.TextInput):
                    self._control(self._turns.typed(msg.text, self._loop.time()))
                    await link.send_text(msg.text)
                elif isinstance(msg, p.VideoFrame):
                    await link.send_video(decode_video_frame(msg), msg.mime_type)
                elif isinstance(msg, p.AudioEnd):
                    await link.audio_stream_end()
                elif isinstance(msg, p.Ping):
                    self._outbox.put_control(p.Pong(t=msg.t))
                elif isinstance(msg, p.Bye):
                    raise _SessionEnded(CLOSE_NORMAL)
                else:
                    raise RecoverableProtocolError("hello may only be sent once.")
            except RecoverableProtocolError as err:
                self._bad_frames += 1
                self.deps.metrics.errors.labels("bad_request").inc()
                if self._bad_frames > MAX_BAD_FRAMES:
                    raise ProtocolError("Too many invalid messages.") from err
                self._outbox.put_control(p.Error(code="bad_request", message=str(err)))

    async def _audio_in(self, link: LiveLink, pcm: bytes) -> None:
        if len(pcm) > p.MAX_AUDIO_FRAME_BYTES or len(pcm) % 2:
            raise RecoverableProtocolError(
                f"Audio frames must be PCM16 (an even number of bytes, at most "
                f"{p.MAX_AUDIO_FRAME_BYTES})."
            )
        now = self._loop.time()
        if not self._budget.admit(len(pcm), now):
            # Dropped, and said once a second at most: a fast client is not a broken one.
            if now - self._rate_noticed_at >= RATE_NOTICE_INTERVAL_S:
                self._rate_noticed_at = now
                self._outbox.put_control(
                    p.Error(
                        code="bad_request",
                        message="Audio is arriving faster than real time; dropped.",
                    )
                )
            return
        await link.send_audio(pcm)

    # ---- Live -> browser -------------------------------------------------------------

    async def _read_live(self, link: LiveLink) -> None:
        async for event in link.events():
            self._on_live(event)

    def _on_live(self, event: LinkEvent) -> None:
        now = self._loop.time()
        t = self._turns
        if isinstance(event, AudioOut):
            self._control(t.audio(now))
            self._outbox.put_audio(event.pcm)
        elif isinstance(event, InputText):
            self._control(t.user_fragment(event.text, now))
        elif isinstance(event, OutputText):
            self._control(t.model_fragment(event.text, now))
        elif isinstance(event, Interrupted):
            self._outbox.flush_audio()
            self._control(t.interrupt(now))
            self._tools.cancel()
        elif isinstance(event, TurnComplete):
            self._control(t.complete(event.usage, now))
            self._record_turn()
        elif isinstance(event, ToolCall):
            for call in event.calls:
                self._tools.start(call.id, call.name, call.args)
        elif isinstance(event, ToolCancel):
            self._tools.cancel(list(event.ids))
        elif isinstance(event, Handle):
            self.deps.handles.put(self.id, event.value, now)
        elif isinstance(event, Reconnecting):
            self.deps.metrics.live_reconnects.inc()
            if t.active:  # the dropped connection took this turn with it: close it here
                self._control(t.complete(None, now))
                self._record_turn()
            self._outbox.put_control(
                p.Error(code="live_reconnecting", message="Reconnecting to the voice service.")
            )
        elif isinstance(event, Rotated):
            self.deps.metrics.live_rotations.inc()
            logger.info("Live connection rotated", extra={"replayed_ms": event.replayed_ms})
        elif isinstance(event, Reconnected):
            logger.info("Live connection restored", extra={"resumed": event.resumed})

    def _record_turn(self) -> None:
        done = self._turns.last_finished
        if done is None:
            return
        if self._recorder is not None:
            self._recorder.turn(done)
        m = self.deps.metrics
        m.turns.labels("interrupted" if done.interrupted else "complete").inc()
        if done.time_to_first_audio_ms is not None:
            m.ttfa.observe(done.time_to_first_audio_ms / 1000)
        if done.usage:
            m.tokens.labels("prompt").inc(done.usage.prompt_tokens)
            m.tokens.labels("response").inc(done.usage.response_tokens)

    def _control(self, messages: list[p.ServerMessage]) -> None:
        for message in messages:
            self._outbox.put_control(message)

    async def _respond_to_tools(self, responses: list[types.FunctionResponse]) -> None:
        if self._link is not None:
            await self._link.send_tool_responses(responses)

    # ---- writer, watchdog, teardown ----------------------------------------------------

    async def _write_browser(self) -> None:
        while True:
            frame = await self._outbox.get()
            try:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_text(frame)
            except (WebSocketDisconnect, RuntimeError, OSError) as exc:
                raise BrowserGone from exc

    async def _watch_shutdown(self) -> None:
        await self.deps.shutting_down.wait()
        raise _SessionEnded(CLOSE_GOING_AWAY)

    async def _send_now(self, message: p.ServerMessage) -> None:
        if self.ws.client_state != WebSocketState.CONNECTED:
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.ws.send_text(message.model_dump_json())
        except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
            pass

    async def _settle(self) -> None:
        """Write what the conversation still owes the store and give back quota and slot."""
        if self._recorder is not None:
            await self._recorder.finish()
        if self._admission is not None:
            await self._admission.quota.finish()
            self._admission.release()

    async def _teardown(self, close_code: int) -> None:
        await self._tools.close()
        if self._link is not None:
            await self._link.close()
        if self.ws.client_state == WebSocketState.CONNECTED:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self.ws.close(close_code)
            except (TimeoutError, RuntimeError, OSError):
                pass
        logger.info("session closed", extra={"close_code": close_code})


def _first(group: BaseExceptionGroup[Exception]) -> Exception:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    assert isinstance(exc, Exception)
    return exc
