"""Google Search grounding, emulated: answers from a local fixture, never the network.

When a session's setup declares the `googleSearch` tool, a question the fixture
(`grounding.json`, beside this module) knows is answered with the fixture's answer and a
`groundingMetadata` in the service's shape (reference §13.3): the searches run, the pages
(`groundingChunks[].web`: uri, title, domain), which part of the answer each supports, and
a `searchEntryPoint`. The fixture maps question patterns (words that must appear in order,
as in the reply script) to an answer, its searches and its pages; the longest matching
pattern wins. Questions it does not know get the ordinary script's reply, ungrounded.
"""

from __future__ import annotations

import html
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .script import words
from .usage import text_tokens

FIXTURE = Path(__file__).with_name("grounding.json")
SNIPPET_TOKENS = 64  # what the model reads of each page found, counted as tool-use prompt


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Page(_Model):
    title: str = Field(min_length=1)
    uri: str = Field(min_length=1)
    domain: str = ""


class Entry(_Model):
    patterns: list[str] = Field(min_length=1)
    answer: str = Field(min_length=1)
    queries: list[str] = Field(min_length=1)
    sources: list[Page] = Field(min_length=1)


class Fixture(_Model):
    entries: list[Entry]


@dataclass(frozen=True)
class SearchAnswer:
    """A reply grounded in a search: spoken like any other, after its metadata."""

    text: str
    metadata: dict[str, Any]
    tool_use_tokens: int  # the search results the model read (`toolUsePromptTokenCount`)


class SearchIndex:
    """The fixture's questions, ready to match utterances against."""

    def __init__(self, fixture: Fixture) -> None:
        self._patterns = [(words(p), e) for e in fixture.entries for p in e.patterns]

    @classmethod
    def load(cls, path: Path = FIXTURE) -> SearchIndex:
        return cls(Fixture.model_validate_json(path.read_text(encoding="utf-8")))

    def answer(self, utterance: str) -> SearchAnswer | None:
        """The grounded reply to `utterance`, or None if the fixture does not know it."""
        heard = words(utterance)
        best: tuple[int, Entry] | None = None
        for pattern, entry in self._patterns:
            if pattern and _contains(heard, pattern) and (best is None or len(pattern) > best[0]):
                best = (len(pattern), entry)
        if best is None:
            return None
        entry = best[1]
        read = sum(text_tokens(p.title) + SNIPPET_TOKENS for p in entry.sources)
        return SearchAnswer(entry.answer, grounding_metadata(entry), read)


def grounding_metadata(entry: Entry) -> dict[str, Any]:
    """`serverContent.groundingMetadata` for an entry's answer, as the service sends it."""
    n = len(entry.sources)
    return {
        "webSearchQueries": list(entry.queries),
        "searchEntryPoint": {"renderedContent": _entry_point(entry.queries)},
        "groundingChunks": [
            {"web": {"uri": p.uri, "title": p.title, "domain": p.domain}} for p in entry.sources
        ],
        "groundingSupports": [
            {
                # Byte offsets into the answer's text, as the service counts them.
                "segment": {
                    "startIndex": 0,
                    "endIndex": len(entry.answer.encode()),
                    "text": entry.answer,
                },
                "groundingChunkIndices": list(range(n)),
                "confidenceScores": [0.9] * n,
            }
        ],
    }


def _entry_point(queries: list[str]) -> str:
    chips = "".join(
        f'<a class="chip" href="https://www.google.com/search?q={urllib.parse.quote_plus(q)}">'
        f"{html.escape(q)}</a>"
        for q in queries
    )
    return f'<style>.chip{{margin:2px}}</style><div class="carousel">{chips}</div>'


def _contains(heard: list[str], pattern: list[str]) -> bool:
    n = len(pattern)
    return any(heard[i : i + n] == pattern for i in range(len(heard) - n + 1))
