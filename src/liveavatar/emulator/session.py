"""One emulated Live connection: setup, input dispatch, model turns, lifetime and faults."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection

from liveavatar.audio.pcm import parse_pcm_rate

from . import outbound, watchdogs
from .brain import Brain, CallTool, Decision, Speak
from .calls import FILLER, Answer, Calls
from .config import EmulatorConfig
from .errors import INVALID_ARGUMENT, LiveCloseError
from .listener import Listener, vad_config_for
from .models import ModelRules
from .prelude import prelude
from .resumption import Conversation, ResumptionStore, Turn
from .routing import Route
from .search import SearchAnswer, SearchIndex
from .setup import accept_setup
from .speaker import TurnTimeline
from .stt import RecognizerPool
from .toolmatch import describe_result
from .tts import Synthesizer
from .usage import Reply
from .usage import report as usage_report
from .video_speaker import INTERRUPTED_TO_TURN_COMPLETE_S, VideoSpeaker
from .vision import FrameInfo, InvalidFrameError, validate_frame
from .voice import Voice, make_voice
from .wire import (
    Blob,
    ClientContent,
    ContextUpdate,
    FunctionDeclaration,
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
        self._tg: asyncio.TaskGroup | None = None
        self._setup = Setup()
        self._conv = Conversation(model="")
        self._functions: list[FunctionDeclaration] = []
        self._listener: Listener | None = None
        self._speaker: Voice | None = None
        self._sends_handles = False  # sessionResumptionUpdate (never on avatar sessions)
        self._turn: asyncio.Task[None] | None = None
        self._turn_open = False
        self._turn_ids = itertools.count(1)
        self._calls = Calls()
        self._rules = ModelRules()
        self._frame: FrameInfo | None = None
        self._audio_streaming = asyncio.Event()
        self._stalled = asyncio.Event()
        self._answered_last_user = True
        self._unheard_audio_s = 0.0  # audio with no words since the last usage report
        self._search_on = False  # the setup declares googleSearch
        self._thinks = False  # a thinking model: thoughts before each reply
        self._audio_out = True

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
        await self.send(outbound.setup_complete(self.id))
        if self._sends_handles:
            await self._send_handle()
        async with asyncio.TaskGroup() as tg:
            self._tg = tg
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
        self._setup, self._conv, self._functions = setup, accepted.conversation, setup.functions()
        self._rules, self._search_on = accepted.rules, accepted.search_on
        self._thinks, self._audio_out = accepted.thinks, accepted.audio_out
        self._interrupts = accepted.interrupts
        # Avatar sessions accept sessionResumption but never send an update (§13.1).
        self._sends_handles = setup.session_resumption is not None and accepted.avatar is None
        self._speaker = await make_voice(
            setup,
            accepted,
            synth=self.deps.synth,
            send=self.send,
            first_audio_delay_s=self._cfg.faults.first_audio_delay_ms / 1000,
            on_first_audio=self._audio_streaming.set,
        )
        self._listener = Listener(
            pool=self.deps.recognizers,
            phrases=self.deps.brain.phrases(self._functions),
            vad_config=vad_config_for(setup),
            on_activity_start=self._on_activity_start,
            on_words=self._on_words,
            on_utterance=self._on_utterance,
        )
        return isinstance(self._speaker, VideoSpeaker) and self._speaker.blocked

    # ---- input -----------------------------------------------------------------------

    async def _read(self) -> None:
        async for raw in self.ws:
            if self._stalled.is_set():
                await asyncio.Future()
            kind, body = parse_client_message(raw)
            if isinstance(body, RealtimeInput):
                await self._realtime(body)
            elif isinstance(body, ClientContent):
                await self._client_content(body)
            elif isinstance(body, ToolResponse):
                await self._tool_response(body)
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
                    self._frame = await asyncio.to_thread(validate_frame, blob.decoded(), mime)
                    self._conv.frames += 1  # in the context from now on
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
            await self._text_input(msg.text)

    async def _text_input(self, text: str) -> None:
        if text.strip():
            await self._on_activity_start()
            await self._user_turn(text.strip(), prompt_audio_s=0.0)
        elif not self._answered_last_user:
            await self._respond_to_history()
        elif self._turn is None:
            # A lone space after seeded history asks the model to speak first: one reply.
            last_user = [t.text for t in self._conv.history if t.role == "user"]
            await self._start_turn(self._decide(last_user[-1] if last_user else "hello"), 0.0)

    async def _client_content(self, msg: ClientContent) -> None:
        for content in msg.turns:
            text = content.text()
            if text:
                role = "model" if content.role == "model" else "user"
                self._conv.history.append(Turn(role, text))
                self._answered_last_user = role == "model"
        if msg.turn_complete:
            await self._respond_to_history()

    async def _respond_to_history(self) -> None:
        if self._answered_last_user or not self._conv.history:
            return
        if self._turn_open and self._interrupts:
            await self._interrupt()
        await self._start_turn(self._decide(self._conv.history[-1].text), 0.0)

    async def _tool_response(self, msg: ToolResponse) -> None:
        for fr in msg.function_responses:
            answer = self._calls.answer(fr)
            if answer is not None:
                await self._fold_in(answer)

    async def _fold_in(self, answer: Answer) -> None:
        """A NON_BLOCKING call's answer, by its scheduling (reference §13.2): SILENT only
        adds it to the context, WHEN_IDLE speaks it after the current output, INTERRUPT
        cuts that off first."""
        if answer.scheduling == "SILENT":
            self._conv.history.append(Turn("tool", answer.text))
            if self._rules.interaction_status and self._idle():
                await self.send(self._turn_complete(None))  # the interaction is over
            return
        if answer.scheduling == "INTERRUPT" and self._turn_open:
            await self._interrupt(more=True)
        await self._start_turn(Speak(answer.text), 0.0, answers_user=False)

    def _context_update(self, msg: ContextUpdate) -> None:
        if msg.system_instruction is not None:
            si = msg.system_instruction
            self._conv.instruction = si if isinstance(si, str) else si.text()
        if msg.tools is not None:
            tools = msg.tools.tools if isinstance(msg.tools, ToolsUpdate) else msg.tools
            self._functions = [fd for t in tools for fd in t.function_declarations or []]
            self._search_on = any(t.google_search is not None for t in tools)
            assert self._listener is not None
            self._listener.phrases = self.deps.brain.phrases(self._functions)

    # ---- listener callbacks ----------------------------------------------------------

    async def _on_activity_start(self) -> None:
        if self._turn_open and self._interrupts:
            await self._interrupt()

    async def _on_words(self, text: str) -> None:
        if self._setup.input_audio_transcription is not None:
            await self.send(outbound.input_transcription(text + " "))

    async def _on_utterance(self, text: str, audio_s: float) -> None:
        if text.strip():
            await self._user_turn(text.strip(), prompt_audio_s=audio_s)
        else:
            self._unheard_audio_s += audio_s  # the model heard it all the same

    # ---- model turns -----------------------------------------------------------------

    def _decide(self, utterance: str) -> Decision | SearchAnswer:
        decision = self.deps.brain.decide(utterance, self._conv, self._functions, self._frame)
        if self._search_on and isinstance(decision, Speak) and not decision.verbatim:
            # A question the search fixture knows is answered from it, grounded.
            return self.deps.search.answer(utterance) or decision
        return decision

    async def _user_turn(self, text: str, prompt_audio_s: float) -> None:
        self._conv.history.append(Turn("user", text, prompt_audio_s))
        self._answered_last_user = False
        await self._start_turn(self._decide(text), prompt_audio_s)

    async def _start_turn(
        self,
        decision: Decision | SearchAnswer,
        prompt_audio_s: float,
        *,
        answers_user: bool = True,
    ) -> None:
        assert self._tg is not None
        if answers_user:
            self._answered_last_user = True
        previous = self._turn
        self._turn = self._tg.create_task(
            self._model_turn(decision, prompt_audio_s, previous),
            name=f"{self.id}-turn-{next(self._turn_ids)}",
        )

    async def _model_turn(
        self,
        decision: Decision | SearchAnswer,
        prompt_audio_s: float,
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])  # NO_INTERRUPTION: replies queue up in order
        assert self._speaker is not None
        self._turn_open = True
        self._audio_streaming.clear()
        if self._sends_handles:
            await self.send(outbound.resumption_update(None))
        timeline = TurnTimeline()
        spoken: list[str] = []
        decision, reply = await prelude(self.send, decision, self._conv, thinks=self._thinks)
        if isinstance(decision, CallTool):
            call = decision.call
            declared = next((f.behavior for f in self._functions if f.name == call.name), None)
            pending = self._calls.open(call.name, non_blocking=self._rules.non_blocking(declared))
            await self.send(
                outbound.tool_call([{"id": pending.id, "name": call.name, "args": call.args}])
            )
            if pending.non_blocking:
                # The model talks on and ends its turn; the answer is folded in later.
                decision = Speak(decision.preface or FILLER)
            else:
                if decision.preface:
                    await self._speaker.say(decision.preface, timeline)
                    spoken.append(decision.preface)
                try:
                    response = await pending.result
                finally:
                    self._calls.forget(pending.id)
                decision = Speak(describe_result(call.name, response))
        await self._speaker.say(decision.text, timeline)
        spoken.append(decision.text)
        await self.send(outbound.generation_complete())
        loop = asyncio.get_running_loop()
        await asyncio.sleep(timeline.playback_left(loop.time()))
        self._turn_open = False
        reply.audio_s = timeline.audio_s if self._audio_out else 0.0
        reply.text = "" if self._audio_out else " ".join(spoken)
        await self.send(self._turn_complete(self._usage(reply)))
        self._conv.history.append(Turn("model", " ".join(spoken), reply.audio_s))
        self._audio_streaming.clear()
        if self._sends_handles:
            await self._send_handle()

    async def _interrupt(self, *, more: bool = False) -> None:
        """Barge-in (or an INTERRUPT answer, `more` output to follow): stop the model's
        output now and tell the client. The turn's blocking calls are cancelled;
        NON_BLOCKING ones run on."""
        turn = self._turn
        if turn is None or turn.done() or not self._turn_open:
            return
        cancelled = self._calls.cancel_blocking()
        turn.cancel()
        await asyncio.wait([turn])
        self._turn_open = False
        self._audio_streaming.clear()
        if cancelled:
            await self.send(outbound.tool_call_cancellation(cancelled))
        await self.send(outbound.interrupted())
        if isinstance(self._speaker, VideoSpeaker):
            await asyncio.sleep(INTERRUPTED_TO_TURN_COMPLETE_S)
        await self.send(self._turn_complete(self._usage(Reply()), more=more))
        if self._sends_handles:
            await self._send_handle()

    def _idle(self) -> bool:
        """Nothing spoken, queued or running in the background."""
        turn = self._turn
        queued = turn is not None and turn is not asyncio.current_task() and not turn.done()
        return not (self._turn_open or queued or self._calls.in_background)

    def _turn_complete(self, usage: dict[str, Any] | None, *, more: bool = False) -> dict[str, Any]:
        """`turnComplete`; for the extended-thinking model with its `interactionStatus`:
        IN_PROGRESS while a NON_BLOCKING call runs or more output is queued, else IDLE."""
        message = outbound.turn_complete(usage)
        if self._rules.interaction_status:
            status = "IN_PROGRESS" if more or not self._idle() else "IDLE"
            message["serverContent"]["interactionStatus"] = status
        return message

    def _usage(self, reply: Reply) -> dict[str, Any]:
        usage = usage_report(
            self.route.flavor, self._conv, reply, unheard_audio_s=self._unheard_audio_s
        )
        self._unheard_audio_s = 0.0
        return usage

    async def _send_handle(self) -> None:
        if self._calls.in_background:
            # Not resumable while the client runs a call of ours (reference §5.6).
            await self.send(outbound.resumption_update(None))
            return
        await self.send(outbound.resumption_update(self.deps.resumption.issue(self._conv)))
