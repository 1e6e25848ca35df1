"""The model's side of one emulated Live connection: what it decides to answer, its turns
(queued in order, cut by barge-in), its tool calls, and what each turn reports at its end
(usage, the resumption handle, the interaction status)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from . import outbound
from .brain import Brain, CallTool, Decision, Speak
from .calls import FILLER, Answer, Calls
from .prelude import prelude
from .resumption import Conversation, ResumptionStore, Turn
from .routing import Route
from .search import SearchAnswer, SearchIndex
from .setup import Accepted
from .speaker import TurnTimeline
from .toolmatch import describe_result
from .usage import Reply
from .usage import report as usage_report
from .video_speaker import INTERRUPTED_TO_TURN_COMPLETE_S, VideoSpeaker
from .vision import FrameInfo
from .voice import Voice
from .wire import ClientContent, FunctionDeclaration, Setup, ToolResponse

Send = Callable[[dict[str, Any] | str], Awaitable[None]]


class ModelTurns:
    """One connection's model turns, from its accepted setup on.

    The connection's input side (`session.LiveSession`) hands it the user's turns and the
    client's answers, and keeps `functions`, `search_on` and `frame` up to date as the
    client changes them. Turns run as tasks of the session's task group (`tg`, set once
    it exists).
    """

    def __init__(
        self,
        *,
        session_id: str,
        setup: Setup,
        accepted: Accepted,
        speaker: Voice,
        route: Route,
        brain: Brain,
        search: SearchIndex,
        resumption: ResumptionStore,
        send: Send,
        audio_streaming: asyncio.Event,
    ) -> None:
        self.id = session_id
        self.conv: Conversation = accepted.conversation
        self.functions: list[FunctionDeclaration] = setup.functions()
        self.search_on = accepted.search_on  # the setup declares googleSearch
        self.frame: FrameInfo | None = None
        self.tg: asyncio.TaskGroup | None = None
        self._route, self._brain, self._search = route, brain, search
        self._resumption, self.send = resumption, send
        self._speaker = speaker
        self._rules = accepted.rules
        self._thinks = accepted.thinks  # a thinking model: thoughts before each reply
        self._audio_out = accepted.audio_out
        self._interrupts = accepted.interrupts
        # Avatar sessions accept sessionResumption but never send an update (§13.1).
        self.sends_handles = setup.session_resumption is not None and accepted.avatar is None
        self._audio_streaming = audio_streaming
        self._turn: asyncio.Task[None] | None = None
        self._turn_open = False
        self._turn_ids = itertools.count(1)
        self._calls = Calls()
        self._answered_last_user = True
        self._unheard_audio_s = 0.0  # audio with no words since the last usage report

    # ---- the user's side ---------------------------------------------------------------

    async def text_input(self, text: str) -> None:
        if text.strip():
            await self.activity_start()
            await self._user_turn(text.strip(), prompt_audio_s=0.0)
        elif not self._answered_last_user:
            await self._respond_to_history()
        elif self._turn is None:
            # A lone space after seeded history asks the model to speak first: one reply.
            last_user = [t.text for t in self.conv.history if t.role == "user"]
            await self._start_turn(self._decide(last_user[-1] if last_user else "hello"), 0.0)

    async def client_content(self, msg: ClientContent) -> None:
        for content in msg.turns:
            text = content.text()
            if text:
                role = "model" if content.role == "model" else "user"
                self.conv.history.append(Turn(role, text))
                self._answered_last_user = role == "model"
        if msg.turn_complete:
            await self._respond_to_history()

    async def tool_response(self, msg: ToolResponse) -> None:
        for fr in msg.function_responses:
            answer = self._calls.answer(fr)
            if answer is not None:
                await self._fold_in(answer)

    async def activity_start(self) -> None:
        if self._turn_open and self._interrupts:
            await self._interrupt()

    async def utterance(self, text: str, audio_s: float) -> None:
        if text.strip():
            await self._user_turn(text.strip(), prompt_audio_s=audio_s)
        else:
            self._unheard_audio_s += audio_s  # the model heard it all the same

    async def _respond_to_history(self) -> None:
        if self._answered_last_user or not self.conv.history:
            return
        if self._turn_open and self._interrupts:
            await self._interrupt()
        await self._start_turn(self._decide(self.conv.history[-1].text), 0.0)

    async def _fold_in(self, answer: Answer) -> None:
        """A NON_BLOCKING call's answer, by its scheduling (reference §13.2): SILENT only
        adds it to the context, WHEN_IDLE speaks it after the current output, INTERRUPT
        cuts that off first."""
        if answer.scheduling == "SILENT":
            self.conv.history.append(Turn("tool", answer.text))
            if self._rules.interaction_status and self._idle():
                await self.send(self._turn_complete(None))  # the interaction is over
            return
        if answer.scheduling == "INTERRUPT" and self._turn_open:
            await self._interrupt(more=True)
        await self._start_turn(Speak(answer.text), 0.0, answers_user=False)

    # ---- model turns -----------------------------------------------------------------

    def _decide(self, utterance: str) -> Decision | SearchAnswer:
        decision = self._brain.decide(utterance, self.conv, self.functions, self.frame)
        if self.search_on and isinstance(decision, Speak) and not decision.verbatim:
            # A question the search fixture knows is answered from it, grounded.
            return self._search.answer(utterance) or decision
        return decision

    async def _user_turn(self, text: str, prompt_audio_s: float) -> None:
        self.conv.history.append(Turn("user", text, prompt_audio_s))
        self._answered_last_user = False
        await self._start_turn(self._decide(text), prompt_audio_s)

    async def _start_turn(
        self,
        decision: Decision | SearchAnswer,
        prompt_audio_s: float,
        *,
        answers_user: bool = True,
    ) -> None:
        assert self.tg is not None
        if answers_user:
            self._answered_last_user = True
        previous = self._turn
        self._turn = self.tg.create_task(
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
        self._turn_open = True
        self._audio_streaming.clear()
        if self.sends_handles:
            await self.send(outbound.resumption_update(None))
        timeline = TurnTimeline()
        spoken: list[str] = []
        decision, reply = await prelude(self.send, decision, self.conv, thinks=self._thinks)
        if isinstance(decision, CallTool):
            call = decision.call
            declared = next((f.behavior for f in self.functions if f.name == call.name), None)
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
        self.conv.history.append(Turn("model", " ".join(spoken), reply.audio_s))
        self._audio_streaming.clear()
        if self.sends_handles:
            await self.send_handle()

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
        if self.sends_handles:
            await self.send_handle()

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
            self._route.flavor, self.conv, reply, unheard_audio_s=self._unheard_audio_s
        )
        self._unheard_audio_s = 0.0
        return usage

    async def send_handle(self) -> None:
        if self._calls.in_background:
            # Not resumable while the client runs a call of ours (reference §5.6).
            await self.send(outbound.resumption_update(None))
            return
        await self.send(outbound.resumption_update(self._resumption.issue(self.conv)))
