"""Turn bookkeeping: ordered partial/final transcripts, a grounded answer's sources, and
per-turn metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from liveavatar.live.events import Grounding, Source, Usage
from liveavatar.protocol import (
    MAX_SOURCE_TITLE_CHARS,
    MAX_SOURCE_URI_CHARS,
    MAX_SOURCES,
    Interrupted,
    ServerMessage,
    SourceLink,
    Sources,
    Transcript,
    TurnComplete,
    TurnMetrics,
)
from liveavatar.store.models import ToolCallRecord

MAX_TOOL_CALLS = 32  # recorded per turn; a model looping on a tool is not a memory leak


def _tidy(text: str) -> str:
    return " ".join(text.split())


def heard_prefix(generated: str, words: int) -> str:
    """The first `words` words of the generated text (all of it if it has fewer): the
    page's report selects what was heard, it never adds to it."""
    return " ".join(generated.split()[: max(0, words)])


@dataclass
class FinishedTurn:
    """What the store and metrics need about a turn that just ended."""

    turn: int
    user_text: str
    model_text: str
    interrupted: bool
    time_to_first_audio_ms: float | None
    turn_latency_ms: float
    usage: Usage | None
    cost_usd: float = 0.0  # of `usage`, at the session's model's prices
    sources: tuple[Source, ...] = ()
    queries: tuple[str, ...] = ()
    tool_calls: tuple[ToolCallRecord, ...] = ()
    # The page's `played` report, when it came before the turn was recorded.
    heard_words: int | None = None
    av_offset_ms: float | None = None

    @property
    def heard_text(self) -> str | None:
        """What the user heard of the model's text, if the page said."""
        return None if self.heard_words is None else heard_prefix(self.model_text, self.heard_words)

    def hear(self, words: int, av_offset_ms: float | None) -> None:
        """The page's report (the first one counts)."""
        if self.heard_words is None:
            self.heard_words, self.av_offset_ms = words, av_offset_ms


def turn_metrics(done: FinishedTurn) -> TurnMetrics:
    """The browser's `metrics` message for a finished turn (again, if its usage came late)."""
    ttfa, usage = done.time_to_first_audio_ms, done.usage or Usage()
    return TurnMetrics(
        turn=done.turn,
        time_to_first_audio_ms=None if ttfa is None else round(ttfa, 1),
        turn_latency_ms=round(done.turn_latency_ms, 1),
        prompt_tokens=usage.prompt_tokens,
        response_tokens=usage.response_tokens,
        total_tokens=usage.total_tokens,
        input_text_tokens=usage.input_text_tokens,
        input_audio_tokens=usage.input_audio_tokens,
        input_video_tokens=usage.input_video_tokens,
        output_text_tokens=usage.output_text_tokens,
        output_audio_tokens=usage.output_audio_tokens,
        thoughts_tokens=usage.thoughts_tokens,
        tool_use_prompt_tokens=usage.tool_use_prompt_tokens,
        cost_usd=done.cost_usd,
    )


def sources_message(turn: int, sources: list[Source], queries: list[str]) -> Sources:
    """The browser's `sources` message, within the protocol's bounds: a URI too long to
    send whole is left out (a cut URL would lead elsewhere), long titles are shortened."""

    def short(text: str) -> str:
        return (
            text
            if len(text) <= MAX_SOURCE_TITLE_CHARS
            else text[: MAX_SOURCE_TITLE_CHARS - 1] + "…"
        )

    links = [
        SourceLink(title=short(s.title), uri=s.uri, domain=short(s.domain))
        for s in sources
        if len(s.uri) <= MAX_SOURCE_URI_CHARS
    ]
    return Sources(turn=turn, sources=links[:MAX_SOURCES], queries=[short(q) for q in queries])


@dataclass
class TurnTracker:
    """Turns Live's event stream into the browser's transcript and metrics messages.

    Times are seconds on the event loop's clock. The user's transcript of a turn is
    final as soon as the model starts answering; the model's at turn end.
    """

    turn: int = 1
    user_text: str = ""
    model_text: str = ""
    user_final: bool = False
    interrupted: bool = False
    started_at: float | None = None
    last_user_input_at: float | None = None
    first_audio_at: float | None = None
    last_finished: FinishedTurn | None = None
    pending: list[tuple[str, float, bool]] = field(default_factory=list)
    # The answer in progress's grounding, gathered until the turn ends (it may come in
    # several reports, alone or with the answer's audio), as pipecat holds it.
    sources: list[Source] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    # Tool calls that ended during the turn (a NON_BLOCKING call's answer may come in a
    # later turn than its call: it is that later turn's).
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    # A usage report's estimated cost: the session sets its model's prices once it knows
    # the persona.
    price: Callable[[Usage], float] = field(default=lambda usage: 0.0)
    # The page's `played` report for the turn in progress (a barge-in: it may come before
    # Live ends the turn).
    heard_words: int | None = None
    av_offset_ms: float | None = None

    @property
    def active(self) -> bool:
        """Whether the current turn has started (user input or model output seen)."""
        return self.started_at is not None or self.user_final

    def user_fragment(self, fragment: str, now: float) -> list[ServerMessage]:
        if self.user_final:
            # The user speaks over the reply: this belongs to the next turn.
            self.pending.append((fragment, now, False))
            return []
        self._touch(now)
        self.user_text += fragment  # Live's fragments carry their own spaces
        return [Transcript(role="user", text=_tidy(self.user_text), final=False, turn=self.turn)]

    def typed(self, text: str, now: float) -> list[ServerMessage]:
        if self.user_final:
            self.pending.append((text, now, True))
            return []
        self._touch(now)
        self.user_text += f" {text} "
        self.user_final = True
        return [Transcript(role="user", text=_tidy(self.user_text), final=True, turn=self.turn)]

    def model_fragment(self, fragment: str, now: float) -> list[ServerMessage]:
        out = self._finalize_user(now)
        self.model_text += fragment
        out.append(
            Transcript(role="model", text=_tidy(self.model_text), final=False, turn=self.turn)
        )
        return out

    def audio(self, now: float) -> list[ServerMessage]:
        out = self._finalize_user(now)
        if self.first_audio_at is None:
            self.first_audio_at = now
        return out

    def grounding(self, report: Grounding) -> None:
        """Add a grounding report to the answer in progress (repeats are listed once)."""
        known = {s.uri for s in self.sources}
        self.sources += [s for s in report.sources if s.uri not in known]
        self.queries += [q for q in report.queries if q not in self.queries]
        # Bounded, whatever the service repeats: what the page could list, and as many
        # searches.
        del self.sources[MAX_SOURCES:], self.queries[MAX_SOURCES:]

    def tool_call(self, record: ToolCallRecord) -> None:
        """A tool call ended: it belongs to the turn in progress."""
        if len(self.tool_calls) < MAX_TOOL_CALLS:
            self.tool_calls.append(record)

    def played(self, turn: int, words: int, av_offset_ms: float | None) -> bool:
        """The page's report of what was heard of `turn`; True if that is the turn in
        progress (kept for when it ends; the first report counts)."""
        if turn != self.turn or not self.active:
            return False
        if self.heard_words is None:
            self.heard_words, self.av_offset_ms = words, av_offset_ms
        return True

    def interrupt(self, now: float) -> list[ServerMessage]:
        self.interrupted = True
        return [Interrupted(turn=self.turn)]

    def complete(self, usage: Usage | None, now: float) -> list[ServerMessage]:
        """End the turn: the final transcripts, its sources (if grounded), `turn_complete`
        and `metrics` (with `usage` and its estimated cost)."""
        out = self._finalize_user(now)
        if self.model_text.strip():
            out.append(
                Transcript(role="model", text=_tidy(self.model_text), final=True, turn=self.turn)
            )
        if self.sources or self.queries:
            out.append(sources_message(self.turn, self.sources, self.queries))
        ttfa = None
        if self.first_audio_at is not None and self.last_user_input_at is not None:
            ttfa = max(0.0, (self.first_audio_at - self.last_user_input_at) * 1000)
        latency = (now - (self.started_at or now)) * 1000
        self.last_finished = FinishedTurn(
            self.turn,
            _tidy(self.user_text),
            _tidy(self.model_text),
            self.interrupted,
            ttfa,
            latency,
            usage,
            0.0 if usage is None else self.price(usage),
            tuple(self.sources),
            tuple(self.queries),
            tuple(self.tool_calls),
            self.heard_words,
            self.av_offset_ms,
        )
        out.append(TurnComplete(turn=self.turn))
        out.append(turn_metrics(self.last_finished))
        self._reset()
        pending, self.pending = self.pending, []
        for text, at, is_typed in pending:
            out += self.typed(text, at) if is_typed else self.user_fragment(text, at)
        return out

    def _touch(self, now: float) -> None:
        if self.started_at is None:
            self.started_at = now
        self.last_user_input_at = now

    def _finalize_user(self, now: float) -> list[ServerMessage]:
        if self.user_final:
            return []
        self.user_final = True
        if self.started_at is None:
            self.started_at = now
        if not self.user_text.strip():
            return []
        return [Transcript(role="user", text=_tidy(self.user_text), final=True, turn=self.turn)]

    def _reset(self) -> None:
        self.turn += 1
        self.user_text = self.model_text = ""
        self.user_final = self.interrupted = False
        self.started_at = self.last_user_input_at = self.first_audio_at = None
        self.sources, self.queries, self.tool_calls = [], [], []
        self.heard_words = self.av_offset_ms = None
