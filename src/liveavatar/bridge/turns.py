"""Turn bookkeeping: ordered partial/final transcripts and per-turn metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

from liveavatar.live.events import Usage
from liveavatar.protocol import Interrupted, ServerMessage, Transcript, TurnComplete, TurnMetrics


def _tidy(text: str) -> str:
    return " ".join(text.split())


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


def turn_metrics(done: FinishedTurn) -> TurnMetrics:
    """The browser's `metrics` message for a finished turn (again, if its usage came late)."""
    ttfa, usage = done.time_to_first_audio_ms, done.usage
    return TurnMetrics(
        turn=done.turn,
        time_to_first_audio_ms=None if ttfa is None else round(ttfa, 1),
        turn_latency_ms=round(done.turn_latency_ms, 1),
        prompt_tokens=usage.prompt_tokens if usage else 0,
        response_tokens=usage.response_tokens if usage else 0,
        total_tokens=usage.total_tokens if usage else 0,
    )


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

    def interrupt(self, now: float) -> list[ServerMessage]:
        self.interrupted = True
        return [Interrupted(turn=self.turn)]

    def complete(self, usage: Usage | None, now: float) -> list[ServerMessage]:
        out = self._finalize_user(now)
        if self.model_text.strip():
            out.append(
                Transcript(role="model", text=_tidy(self.model_text), final=True, turn=self.turn)
            )
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
