"""One browser WebSocket bridged to one Live conversation: reader, writer, Live and watchdog
tasks in one task group, one place where errors become browser messages and closes, and
one teardown that always runs to its end."""

from __future__ import annotations

import asyncio
import functools
import logging

from liveavatar import protocol as p
from liveavatar.auth import Admission
from liveavatar.bridge.capacity import HelloTicket
from liveavatar.errors import (
    CLOSE_BAD_REQUEST,
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_RECONNECT,
    CLOSE_REPLACED,
    REASON_DRAINING,
    AvatarError,
)
from liveavatar.live.events import LinkEvent
from liveavatar.live.link import LiveLink
from liveavatar.live.tools import ToolResponse
from liveavatar.log import session_id_var
from liveavatar.media.recordings import recording_name
from liveavatar.store.day_totals import ERROR_COUNTER_PREFIX

from .browser_reader import BrowserReader
from .browser_wire import BrowserWire
from .deps import BridgeDeps
from .greeting import greeting_request
from .handle_sync import HandleSync
from .handshake import Resumption, avatar_urls, receive_hello, turns_so_far, with_voice
from .ids import log_ref, new_session_id, owner_key
from .inbound import BrowserGone
from .live_events import LiveEvents
from .native_avatar import ConversationSoFar, fallback_notice, plan_avatar
from .outbox import Outbox
from .recorder import SessionRecorder
from .recording import SessionRecording
from .running import RunningSession
from .smart_turn import mic_path
from .socket_out import close_socket, send_now
from .teardown import first, run_to_end, step
from .token_watch import TokenWatch
from .tool_calls import ToolCalls
from .turns import FinishedTurn, TurnTracker
from .watchdogs import (
    SessionEnded,
    sync_handles,
    watch_age,
    watch_blocked,
    watch_replaced,
    watch_shutdown,
)

logger = logging.getLogger(__name__)

TEARDOWN_TIMEOUT_S = 10.0  # a cancelled session still waits this long for its teardown


class BridgeSession:
    """Serves one accepted browser WebSocket until either side ends it.

    Whatever ends it (bye, a close frame, a dropped network, an error, the quota, server
    shutdown or cancellation), `run` finishes with one teardown that gives back everything
    taken at admission exactly once: tool tasks, the turn in progress (recorded), the Live
    connection, the socket, the conversation record, the quota charge and the session slot.
    """

    def __init__(
        self,
        wire: BrowserWire,
        deps: BridgeDeps,
        *,
        client_ip: str,
        hello_ticket: HelloTicket | None = None,
    ) -> None:
        self.ws = wire.ws
        self._wire = wire
        self.deps = deps
        self.client_ip = client_ip
        self._hello_ticket = hello_ticket
        self._admission: Admission | None = None
        self._recorder: SessionRecorder | None = None
        self._recording: SessionRecording | None = None
        self.id = new_session_id()
        self._ref = log_ref(self.id)
        self._outbox = Outbox(on_error=self._count_error)
        self._turns = TurnTracker()
        self._link: LiveLink | None = None
        self._loop = asyncio.get_running_loop()
        self._tools = ToolCalls(
            name=self._ref,
            registry=deps.tools,
            metrics=deps.metrics,
            outbox=self._outbox,
            respond=self._respond_to_tools,
            on_done=self._turns.tool_call,
        )
        self._events = LiveEvents(
            turns=self._turns,
            outbox=self._outbox,
            tools=self._tools,
            metrics=deps.metrics,
            on_handle=self._on_handle,
            on_turn=self._on_turn,
            count=deps.count,
            on_played=self._on_played,
        )
        self._torn_down = False
        self._running: RunningSession | None = None
        self._close_reason = REASON_DRAINING  # sent with CLOSE_RECONNECT
        self._turn_ended = asyncio.Event()  # set by the Live reader between turns
        self._handles: HandleSync | None = None
        self._so_far = ConversationSoFar()

    async def run(self) -> None:
        """Handshake, then bridge until the end; then tear down, always to the end."""
        metrics = self.deps.metrics
        metrics.sessions.inc()
        metrics.active_sessions.inc()
        token = session_id_var.set(self._ref)
        close_code = CLOSE_RECONNECT  # if cancelled: the server is stopping
        try:
            close_code = await self._serve_to_close_code()
        finally:
            try:
                await run_to_end(
                    self._teardown(close_code),
                    name=f"{self._ref}-teardown",
                    timeout_s=TEARDOWN_TIMEOUT_S,
                )
            finally:
                metrics.active_sessions.dec()
                session_id_var.reset(token)

    async def _serve_to_close_code(self) -> int:
        """Serve; every way the session can end becomes a close code here, in one place."""
        metrics = self.deps.metrics
        close_code = CLOSE_NORMAL
        try:
            close_code = await self._serve()
        except* BrowserGone:
            close_code = CLOSE_NORMAL
        except* AvatarError as group:
            err = first(group)
            assert isinstance(err, AvatarError)
            if self._recorder is not None:
                self._recorder.error()
            metrics.errors.labels(err.fault.code).inc()
            logger.warning(
                "session ended by error", extra={"code": err.fault.code, "error": str(err)}
            )
            await self._send_now(p.Error(code=err.fault.code, message=str(err), fatal=True))
            # A fatal error always closes with its own code, never a normal 1000.
            close_code = err.fault.close_code or CLOSE_BAD_REQUEST
        except* SessionEnded as group:
            ended = first(group)
            assert isinstance(ended, SessionEnded)
            if ended.code == CLOSE_RECONNECT:
                self._close_reason = ended.reason
                await self._send_now(p.GoingAway(reason=ended.reason, reconnect_after_ms=0))
            elif ended.code == CLOSE_REPLACED:
                await self._send_now(
                    p.Error(
                        code="session_replaced",
                        message="This conversation continued in another window or tab.",
                        fatal=True,
                    )
                )
            close_code = ended.code
        except* Exception:
            metrics.errors.labels("internal").inc()
            logger.exception("session failed")
            await self._send_now(
                p.Error(code="internal", message="Something went wrong on our side.", fatal=True)
            )
            close_code = CLOSE_INTERNAL
        return close_code

    async def _serve(self) -> int:
        deps = self.deps
        deps.gate.check_connection(self.client_ip)
        timeout_s = self._hello_ticket.timeout_s if self._hello_ticket else deps.hello_timeout_s
        hello = await receive_hello(self.ws, timeout_s, self._hello_ticket)
        admission = self._admission = await deps.gate.admit(hello.token, client_ip=self.client_ip)
        owner = owner_key(admission.identity, hello.browser_key)
        active = await deps.personas()
        persona = with_voice(active.persona, hello.voice)
        self._turns.price = functools.partial(deps.prices.cost, persona.model)
        resumption = Resumption(deps.handles, deps.running, deps.metrics, TEARDOWN_TIMEOUT_S)
        resumed = await resumption.find(hello.session_id, owner, admission.identity.uid)
        if resumed is not None:
            assert hello.session_id is not None
            self.id = hello.session_id
            self._ref = log_ref(self.id)
            session_id_var.set(self._ref)
        handle = resumed.handle if resumed else None
        handles = self._handles = await deps.handles.claim(self.id, owner, handle)
        running = self._running = deps.running.register(self.id, admission.identity.uid)
        plan = await plan_avatar(
            active, deps.media, native_api=deps.native_avatar, page_version=hello.version
        )
        link = self._link = plan.link(deps.opener_for, persona, self._so_far, name=self._ref)
        mic = await mic_path(persona, link, deps.metrics, self._ref)  # smart: needs its models
        await link.start(handle)
        first_index = await turns_so_far(deps.store, self.id) if resumed else 0
        self._turns.turn = first_index + 1  # the page's transcript goes on, not over
        recorder = self._recorder = SessionRecorder(
            deps.store,
            conversation_id=self.id,
            user_id=admission.identity.uid,
            persona_version=active.version,
            first_index=first_index,
            name=self._ref,
        )
        await recorder.start()
        if active.recording:
            self._recording = SessionRecording(
                deps.media,
                recording_name(self.id, recorder.part),
                started=self._loop.time(),
                mic_rate=p.INPUT_SAMPLE_RATE,
                model_rate=p.OUTPUT_SAMPLE_RATE,
                label=self._ref,
            )
            self._recording.start()
        self._outbox.put_control(
            p.Ready(
                session_id=self.id,
                resumed=resumed is not None,
                voice=persona.voice,
                persona=persona.name,
                avatar=p.AvatarMedia(**await avatar_urls(deps.media, active)),
                avatar_mode=plan.ready_mode(active, link),
            )
        )
        if plan.fallback is not None:
            deps.metrics.avatar_fallbacks.labels(plan.fallback).inc()
            self._outbox.put_control(fallback_notice(plan.fallback))
        logger.info(
            "session ready",
            extra={"resumed": resumed is not None, "uid": admission.identity.uid},
        )
        if resumed is None and active.greeting:
            await link.send_text(greeting_request(active.greeting))  # the avatar speaks first
        auth = TokenWatch(deps.gate.verifier, admission.identity, deps.token_grace_s, self._outbox)
        async with asyncio.TaskGroup() as tg:
            reader = BrowserReader(
                self._wire,
                link,
                mic=mic,
                outbox=self._outbox,
                turns=self._turns,
                metrics=deps.metrics,
                recording=self._recording,
                events=self._events,
                tokens=auth,
            )
            tg.create_task(reader.run(), name=f"{self._ref}-browser")
            tg.create_task(auth.run(), name=f"{self._ref}-token")
            tg.create_task(self._read_live(link), name=f"{self._ref}-live")
            tg.create_task(self._wire.write_from(self._outbox), name=f"{self._ref}-writer")
            tg.create_task(watch_shutdown(deps.shutting_down), name=f"{self._ref}-watchdog")
            tg.create_task(watch_replaced(running), name=f"{self._ref}-replaced")
            tg.create_task(sync_handles(handles), name=f"{self._ref}-handles")
            tg.create_task(watch_blocked(running), name=f"{self._ref}-blocked")
            tg.create_task(admission.quota.enforce(self._quota_warning), name=f"{self._ref}-quota")
            if deps.socket_max_age_s is not None:
                age = watch_age(
                    deps.socket_max_age_s,
                    deps.socket_close_wait_s,
                    self._turns,
                    self._turn_ended,
                    self._outbox,
                )
                tg.create_task(age, name=f"{self._ref}-age")
            if admission.spend is not None:  # each turn's cost, and the cost quota
                tg.create_task(
                    admission.spend.enforce(self._quota_warning), name=f"{self._ref}-spend"
                )
        return CLOSE_NORMAL

    async def _quota_warning(self, warning: AvatarError) -> None:
        self._outbox.put_control(p.Error(code=warning.fault.code, message=str(warning)))

    # ---- Live -> browser -------------------------------------------------------------

    async def _read_live(self, link: LiveLink) -> None:
        # Most events come straight from the Live connection's reader (`deliver_to`).
        link.deliver_to(self._on_live_event)
        async for event in link.events():
            self._on_live_event(event)

    def _on_live_event(self, event: LinkEvent) -> None:
        now = self._loop.time()
        if self._recording is not None:
            self._recording.live_event(event, now)
        self._events.handle(event, now)
        if not self._turns.active:
            self._turn_ended.set()

    def _on_handle(self, handle: str, now: float) -> None:
        if self._handles is not None:
            self._handles.put(handle)

    def _on_played(self, turn: int, words: int, av_offset_ms: float | None) -> None:
        if self._recorder is not None:
            self._recorder.played(turn, words, av_offset_ms)

    def _on_turn(self, done: FinishedTurn) -> None:
        self._so_far.add(done.user_text, done.model_text)
        if self._recorder is not None:
            self._recorder.turn(done)
        if self._admission is not None and self._admission.spend is not None:
            self._admission.spend.charge(done.cost_usd)

    async def _respond_to_tools(self, responses: list[ToolResponse]) -> None:
        if self._link is not None:
            await self._link.send_tool_responses(responses)

    # ---- writer, teardown ----------------------------------------------------

    def _count_error(self, code: str) -> None:
        self.deps.count(ERROR_COUNTER_PREFIX + code)

    async def _send_now(self, message: p.ServerMessage) -> None:
        if isinstance(message, p.Error):
            self._count_error(message.code)
        await send_now(self.ws, message)

    async def _teardown(self, close_code: int) -> None:
        """Give back everything the session took, exactly once, each step on its own:
        a step that fails is logged and the next one still runs."""
        if self._torn_down:
            return
        self._torn_down = True
        if self._hello_ticket is not None:
            self._hello_ticket.done()
        await step("tools", self._tools.close())
        await step("turn in progress", self._record_turn_in_progress())
        if self._link is not None:
            await step("live", self._link.close())
        await step("socket", self._close_socket(close_code))
        if self._recording is not None:
            await step("recording", self._recording.finish(self._loop.time()))
        if self._recorder is not None:
            await step("conversation record", self._recorder.finish())
        if self._admission is not None:
            await step("quota", self._admission.quota.finish())
            if self._admission.spend is not None:
                await step("cost", self._admission.spend.finish())
            self._admission.release()
        if self._handles is not None:
            await step("resumption handle", self._handles.flush())
        if self._running is not None:
            # Last: a connection taking this session over waits for everything above.
            self.deps.running.unregister(self.id, self._running)
        metrics = self.deps.metrics
        metrics.dropped_audio.inc(self._outbox.dropped_chunks)
        metrics.dropped_video.inc(self._outbox.dropped_media_chunks)
        metrics.dropped_video_bytes.inc(self._outbox.dropped_media_bytes)
        logger.info("session closed", extra={"close_code": close_code})

    async def _record_turn_in_progress(self) -> None:
        self._events.cut_turn_in_progress(self._loop.time())

    async def _close_socket(self, close_code: int) -> None:
        reason = self._close_reason if close_code == CLOSE_RECONNECT else None
        await close_socket(self.ws, close_code, reason)
