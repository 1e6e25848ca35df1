"""The reply script: which phrases the emulator answers and what it says back.

A user script is a JSON file `{"rules": [{"patterns": [...], "reply": "..."}], "fallback":
"..."}`. Replies may use the placeholders {name} (the persona's name from the system
instruction), {time}, {date}, {heard} (what the user said), {see} (the latest video frame)
and {earlier} (the user's previous utterance in this conversation).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    patterns: list[str] = Field(min_length=1)
    reply: str = Field(min_length=1, max_length=2000)


class Script(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[Rule]
    fallback: str = "You said: {heard}."

    def phrases(self) -> list[str]:
        """Every pattern, for biasing speech recognition toward what can be answered."""
        return [p for r in self.rules for p in r.patterns]


DEFAULT_SCRIPT = Script(
    rules=[
        Rule(
            patterns=[
                "hello",
                "hello there",
                "hi there",
                "hey there",
                "good morning",
                "good afternoon",
                "good evening",
            ],
            reply="Hello! I am {name}. How can I help you today?",
        ),
        Rule(patterns=["what is your name", "who are you"], reply="My name is {name}."),
        Rule(patterns=["what time is it", "what is the time"], reply="It is {time}."),
        Rule(
            patterns=["what is the date", "what day is it", "what is the date today"],
            reply="Today is {date}.",
        ),
        Rule(
            patterns=["how are you", "how are you today"],
            reply="I am doing well, thank you for asking.",
        ),
        Rule(
            patterns=["tell me a joke"],
            reply="Why did the scarecrow win an award? Because he was outstanding in his field.",
        ),
        Rule(patterns=["what do you see", "what can you see"], reply="{see}"),
        Rule(
            patterns=["what did i say", "what did i just say", "what did i say before"],
            reply="{earlier}",
        ),
        Rule(patterns=["thank you", "thanks"], reply="You are welcome."),
        Rule(patterns=["goodbye", "bye"], reply="Goodbye! It was nice talking to you."),
    ]
)

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation, the unit all matching works on."""
    return _WORD.findall(text.lower())


def load_script(path: Path | None) -> Script:
    """The user's script file if given, else the built-in one."""
    if path is None:
        return DEFAULT_SCRIPT
    return Script.model_validate_json(path.read_text(encoding="utf-8"))
