"""The deterministic brain: what the emulated model says or calls for each user turn."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from .resumption import Conversation
from .script import Script, words
from .toolmatch import PlannedCall, match_function
from .toolvocab import phrases_for
from .vision import FrameInfo
from .wire import FunctionDeclaration

_NAME_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\byour name is ([A-Z][\w'-]*)",
        r"\byou are called ([A-Z][\w'-]*)",
        r"\bnamed ([A-Z][\w'-]*)",
        r"\byou are ([A-Z][\w'-]*)\b",
        r"\bcall yourself ([A-Z][\w'-]*)",
    )
]
_NOT_NAMES = frozenset({"a", "an", "the", "my", "our", "very", "friendly", "helpful"})
# "Say exactly ...: "<words>"" (the backend's greeting request, and the way people ask a
# real model for a verbatim line): the words are the last quoted span.
_SAY_EXACTLY = re.compile(r"\bsay\s+exactly\b.*?[\"“](?P<words>.+)[\"”]", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Speak:
    text: str
    verbatim: bool = False  # words the user asked for, never replaced by another answer


@dataclass(frozen=True)
class CallTool:
    call: PlannedCall
    preface: str | None  # spoken while a non-blocking call runs


Decision = Speak | CallTool


def quoted_request(utterance: str) -> str | None:
    """The words a "say exactly "..."" request asks the model to speak, if it is one."""
    m = _SAY_EXACTLY.search(utterance)
    words = m.group("words").strip() if m else ""
    return words or None


def persona_name(instruction: str) -> str:
    """The name a system instruction gives the model ("You are Ava, ..."), else Gemini."""
    for pattern in _NAME_PATTERNS:
        for m in pattern.finditer(instruction):
            candidate = m.group(1)
            if candidate.lower() not in _NOT_NAMES and candidate[0].isupper():
                return candidate
    return "Gemini"


class Brain:
    """Maps a user utterance to a reply from the script, a tool call or the fallback.

    Pure and synchronous; holds no per-connection state.
    """

    def __init__(self, script: Script, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._script = script
        self._clock = clock or (lambda: dt.datetime.now().astimezone())

    def phrases(self, functions: list[FunctionDeclaration]) -> list[str | tuple[str, ...]]:
        """What recognition should lean toward: the script's patterns, and one group of
        carrier sentences per declared function."""
        return [*self._script.phrases(), *phrases_for(functions)]

    def decide(
        self,
        utterance: str,
        conversation: Conversation,
        functions: list[FunctionDeclaration],
        frame: FrameInfo | None,
    ) -> Decision:
        quoted = quoted_request(utterance)
        if quoted is not None:
            return Speak(quoted, verbatim=True)
        call = match_function(utterance, functions)
        if call is not None:
            return CallTool(call, None if call.blocking else "One moment, let me check.")
        heard = words(utterance)
        best: tuple[int, str] | None = None
        for rule in self._script.rules:
            for pattern in rule.patterns:
                pw = words(pattern)
                if pw and _contains_in_order(heard, pw) and (best is None or len(pw) > best[0]):
                    best = (len(pw), rule.reply)
        template = best[1] if best else self._script.fallback
        return Speak(self._fill(template, utterance, conversation, frame))

    def _fill(
        self, template: str, utterance: str, conv: Conversation, frame: FrameInfo | None
    ) -> str:
        now = self._clock()
        earlier = [t.text for t in conv.history if t.role == "user"]
        # The current utterance is already the last user turn; look before it.
        previous = earlier[-2] if len(earlier) >= 2 else None
        values = {
            "name": persona_name(conv.instruction),
            "time": now.strftime("%I:%M %p").lstrip("0"),
            "date": now.strftime("%A, %B %d, %Y").replace(" 0", " "),
            "heard": utterance.strip() or "nothing",
            "see": frame.sentence() if frame else "I do not see anything. No video is shared.",
            "earlier": f"Earlier you said: {previous}."
            if previous
            else "You have not said anything before this.",
        }
        text = template
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text


def _contains_in_order(heard: list[str], pattern: list[str]) -> bool:
    """Whether `pattern` occurs as a contiguous run of words in `heard`."""
    n = len(pattern)
    return any(heard[i : i + n] == pattern for i in range(len(heard) - n + 1))
