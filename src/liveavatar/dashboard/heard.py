"""What the user heard of each answer, against what the model generated, and the page's
audio/video offset: pure helpers for the conversation view."""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

from liveavatar.store.models import TurnRecord

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def escape_markdown(text: str) -> str:
    """Text shown as itself in Streamlit's markdown (no emphasis, links, LaTeX or HTML)."""
    return _MARKDOWN.sub(r"\\\1", text)


def split_heard(model_text: str, heard_text: str | None) -> tuple[str, str]:
    """(heard, unheard) parts of the model's text. Without a report the whole text counts
    as heard; a report that is not a prefix of the words (it always is when stored by the
    backend) keeps the words the two share."""
    words = model_text.split()
    if heard_text is None:
        return " ".join(words), ""
    heard = heard_text.split()
    n = 0
    while n < min(len(words), len(heard)) and words[n] == heard[n]:
        n += 1
    return " ".join(words[:n]), " ".join(words[n:])


def heard_markdown(model_text: str, heard_text: str | None) -> str:
    """The model's text as markdown with the part the user never heard struck through."""
    heard, unheard = split_heard(model_text, heard_text)
    if not unheard:
        return escape_markdown(heard)
    tail = f"~~{escape_markdown(unheard)}~~"
    return f"{escape_markdown(heard)} {tail}" if heard else tail


def av_offsets(turns: Sequence[TurnRecord]) -> list[float]:
    """The page's measured audio/video offsets of the conversation's answers, ms."""
    return [t.av_offset_ms for t in turns if t.av_offset_ms is not None]


def av_summary(turns: Sequence[TurnRecord]) -> str:
    """One line: the median and range of the answers' audio/video offsets."""
    values = av_offsets(turns)
    if not values:
        return "audio/video offset: not measured (no drawn-avatar answer reported one)"
    median = statistics.median(values)
    return (
        f"audio/video offset (the page's measure, + = audio ahead of the mouth): median "
        f"{median:+.0f} ms over {len(values)} answers, from {min(values):+.0f} to "
        f"{max(values):+.0f} ms"
    )
