"""What `usageMetadata` and `groundingMetadata` become, for both Live clients, and how both
read a duration (`goAway`'s `timeLeft`).

Each client reads its own form of a server message (the wire JSON in `raw.py`, the SDK's
parse of it in `sdk_events.py`) down to plain values; the events are made here, so the two
cannot differ in how tokens are counted or which sources are kept
(tests/unit/live/test_parity.py holds them to the same events).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from typing import Any

from .events import Grounding, Source, Usage

_DURATION = re.compile(r"^\s*([0-9.]+)s\s*$")

# A detail list's modality -> the Usage field it counts for, per direction. Frames from the
# camera and the screen are images to the service; video and images are priced alike.
_INPUT = {
    "TEXT": "input_text_tokens",
    "AUDIO": "input_audio_tokens",
    "IMAGE": "input_video_tokens",
    "VIDEO": "input_video_tokens",
}
_OUTPUT = {"TEXT": "output_text_tokens", "AUDIO": "output_audio_tokens"}

Detail = tuple[str | None, int | None]
"""One `{modality, tokenCount}` entry of a details list, either possibly missing."""


def count(value: object) -> int:
    """A token count as the service may send it (number, numeric string, null): never
    negative, 0 when absent or unreadable."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        return max(0, int(value))
    except (ValueError, OverflowError):
        return 0


def usage_event(
    *,
    prompt: object,
    response: object,
    total: object,
    thoughts: object = None,
    tool_use_prompt: object = None,
    prompt_details: Iterable[Detail] = (),
    response_details: Iterable[Detail] = (),
) -> Usage:
    """The `Usage` event for one report. Modalities absent from a list count 0 (the service
    leaves out modalities with no tokens, and a list when there is no breakdown, §13.5)."""
    fields = {
        "prompt_tokens": count(prompt),
        "response_tokens": count(response),
        "total_tokens": count(total),
        "thoughts_tokens": count(thoughts),
        "tool_use_prompt_tokens": count(tool_use_prompt),
    }
    for details, names in ((prompt_details, _INPUT), (response_details, _OUTPUT)):
        for modality, tokens in details:
            name = names.get(str(modality or "").upper())
            if name is not None:
                fields[name] = fields.get(name, 0) + count(tokens)
    return Usage(**fields)


def grounding_event(
    chunks: Iterable[tuple[object, object, object]], queries: Iterable[object]
) -> Grounding | None:
    """The `Grounding` event for one `groundingMetadata`, or None when it names no web page
    and no search (a report saw it always null, §13.3).

    `chunks` are the `web` entries' (title, uri, domain); entries without a URI are left
    out, as are repeats of a URI already listed. A page without a title is named by its
    domain, else its URI.
    """
    sources: list[Source] = []
    seen: set[str] = set()
    for title, uri, domain in chunks:
        link = str(uri or "").strip()
        if not link or link in seen:
            continue
        seen.add(link)
        site = str(domain or "").strip()
        sources.append(Source(str(title or "").strip() or site or link, link, site))
    asked = tuple(dict.fromkeys(q.strip() for q in queries if isinstance(q, str) and q.strip()))
    if not sources and not asked:
        return None
    return Grounding(tuple(sources), asked)


def seconds(value: Any) -> float:
    """A protobuf duration ("50s") or a number, in seconds."""
    if isinstance(value, int | float):
        return float(value)
    with contextlib.suppress(AttributeError):
        return float(value.total_seconds())
    m = _DURATION.match(str(value or ""))
    return float(m.group(1)) if m else 0.0
