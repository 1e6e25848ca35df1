"""What the emulated model reports in `usageMetadata` (reference §13.5), and its thoughts.

One report per turn, on its `turnComplete`, the prompt re-counting the whole context, as
measured on the real service: the system instruction and every turn so far, each in the
modality it came in (a spoken user turn and a spoken reply as audio, 32 tokens a second;
a typed or seeded turn and a text reply as text, 1.3 tokens a word), plus every camera or
screen frame seen (258 tokens each), plus audio heard since the last report that held no
words. The response is this reply: audio, or text in TEXT mode. The extended-thinking
model's thoughts and a grounded answer's search results are counted apart
(`thoughtsTokenCount`, `toolUsePromptTokenCount`). Detail lists leave out modalities with
no tokens; Vertex gets the `candidates…` names (`outbound.usage_metadata`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import outbound
from .resumption import Conversation

AUDIO_TOKENS_PER_S = 32
IMAGE_TOKENS = 258
TOKENS_PER_WORD = 1.3
# Models that think aloud: their turns begin with a thought part (`{"text", "thought":
# true}`, reference §13.4), which clients must neither speak nor transcribe.
THINKING_MODELS = frozenset({"gemini-3.8-live-extended-thinking"})


def text_tokens(text: str) -> int:
    return round(len(text.split()) * TOKENS_PER_WORD)


def audio_tokens(seconds: float) -> int:
    return round(seconds * AUDIO_TOKENS_PER_S)


def thought(heard: str) -> str:
    """The thought the extended-thinking model has before a reply: deterministic, and
    sharing no sentence with any reply, so a client that leaks it into speech or a
    transcript is caught."""
    return (
        f"Thinking it over: the user said {heard.strip() or 'nothing'!r}. "
        "A short spoken answer will do."
    )


@dataclass
class Reply:
    """What one model turn produced, for its report."""

    audio_s: float = 0.0  # spoken
    text: str = ""  # written (TEXT mode)
    thoughts: str = ""
    tool_use_tokens: int = 0


def report(
    flavor: outbound.Flavor, conv: Conversation, reply: Reply, *, unheard_audio_s: float = 0.0
) -> dict[str, Any]:
    """The `usageMetadata` of a turn whose context is `conv` (its reply not yet in it)."""
    spoken = [t for t in conv.history if t.audio_s > 0]
    written = [t for t in conv.history if t.audio_s <= 0]
    return outbound.usage_metadata(
        flavor,
        prompt_text=text_tokens(conv.instruction) + sum(text_tokens(t.text) for t in written),
        prompt_audio=sum(audio_tokens(t.audio_s) for t in spoken) + audio_tokens(unheard_audio_s),
        prompt_video=conv.frames * IMAGE_TOKENS,
        response_audio=audio_tokens(reply.audio_s),
        response_text=text_tokens(reply.text),
        thoughts=text_tokens(reply.thoughts),
        tool_use=reply.tool_use_tokens,
    )
