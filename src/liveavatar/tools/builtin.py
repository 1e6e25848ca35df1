"""The tools every avatar gets: the current time and a search over the product knowledge base."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import stat as stat_module
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from liveavatar.tools.registry import Tool, ToolUserError

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 1_000_000
MAX_SECTION_CHARS = 600
MAX_QUERY_CHARS = 500
# Classic BM25 constants; the knowledge base is a handful of short sections, where the
# textbook values rank as well as any tuned ones.
_K1 = 1.5
_B = 0.75
_HEADING_WEIGHT = 2  # a word in a heading says more about the section than one in its body

_STOP_WORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our ours out over own
    same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who
    whom why will with would you your yours tell please know want""".split()
)
_WORD_RE = re.compile(r"[^\W_]+")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")


def current_time_tool(clock: Callable[[], datetime] | None = None) -> Tool:
    """A `get_current_time` tool; `clock` (default: now in UTC) is injectable for tests."""
    now = clock or (lambda: datetime.now(UTC))

    async def handler(args: dict[str, Any]) -> dict[str, str]:
        name = args.get("timezone") or "UTC"
        zone = _zone(name)
        moment = now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(zone)
        hour = local.hour % 12 or 12
        return {
            "iso": local.isoformat(timespec="seconds"),
            "date": f"{local:%A}, {local:%B} {local.day}, {local.year}",
            "time": f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}",
            "timezone": name,
        }

    return Tool(
        name="get_current_time",
        description="Get the current date and time",
        parameters={
            "type": "object",
            "properties": {
                "timezone": {
                    "type": "string",
                    "description": "IANA time zone name such as Europe/Paris; default UTC",
                }
            },
            "additionalProperties": False,
        },
        handler=handler,
        timeout_s=2.0,
    )


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        # No tz database needed for the default, so slim images still answer.
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ToolUserError(f"unknown timezone: {name[:64]}") from None


@dataclass(frozen=True)
class _Section:
    source: str
    text: str
    terms: Counter[str]
    length: int


@dataclass(frozen=True)
class _Index:
    sections: tuple[_Section, ...] = ()
    doc_freq: dict[str, int] = field(default_factory=dict)
    avg_length: float = 0.0

    def search(self, query: str, limit: int) -> list[_Section]:
        """The `limit` best sections by BM25 score, best first; ties keep file order."""
        words = set(_tokens(query))
        if not words or not self.sections:
            return []
        total = len(self.sections)
        scored: list[tuple[float, int, _Section]] = []
        for position, section in enumerate(self.sections):
            norm = _K1 * (1 - _B + _B * section.length / (self.avg_length or 1.0))
            score = 0.0
            for word in words:
                tf = section.terms.get(word, 0)
                if tf:
                    df = self.doc_freq[word]
                    idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
                    score += idf * tf * (_K1 + 1) / (tf + norm)
            if score > 0:
                scored.append((-score, position, section))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [section for _, _, section in scored[:limit]]


# (relative path, mtime_ns, size) of every markdown file: the index is rebuilt when it changes.
_Signature = frozenset[tuple[str, int, int]]


class _KnowledgeBase:
    """A cached BM25 index over the markdown files of one folder."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._signature: _Signature | None = None
        self._index = _Index()
        self._lock = asyncio.Lock()
        self._reported: set[tuple[str, int, int]] = set()

    async def search(self, query: str, limit: int) -> list[_Section]:
        async with self._lock:
            signature = await asyncio.to_thread(_scan, self._folder)
            if signature != self._signature:
                index, skipped = await asyncio.to_thread(_build, self._folder, signature)
                self._index, self._signature = index, signature
                for entry, reason in skipped:
                    # Report each bad file version once, not on every rebuild.
                    if entry not in self._reported:
                        self._reported.add(entry)
                        logger.warning("knowledge file %s ignored: %s", entry[0], reason)
        return self._index.search(query, limit)


def knowledge_tool(folder: Path, *, max_results: int = 3) -> Tool:
    """A `lookup_knowledge` tool searching the `*.md` files under `folder` by section."""
    if max_results < 1:
        raise ValueError("max_results must be at least 1")
    base = _KnowledgeBase(folder)

    async def handler(args: dict[str, Any]) -> dict[str, Any]:
        query = str(args["query"])[:MAX_QUERY_CHARS]
        found = await base.search(query, max_results)
        if not found:
            return {"results": [], "note": "nothing found"}
        return {"results": [{"source": s.source, "text": s.text} for s in found]}

    return Tool(
        name="lookup_knowledge",
        description="Search the product knowledge base for facts",
        parameters={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "What to look up, in a few words",
                }
            },
            "required": ["query"],
            "additionalProperties": False,
        },
        handler=handler,
        # A search may take a while: the avatar talks on, the answer follows when it can.
        non_blocking=True,
    )


def default_tools(knowledge_dir: Path | None) -> list[Tool]:
    """The built-in tools; the knowledge search only when a folder is configured."""
    tools = [current_time_tool()]
    if knowledge_dir is not None:
        tools.append(knowledge_tool(knowledge_dir))
    return tools


def _scan(folder: Path) -> _Signature:
    """Stat every markdown file under `folder`; a missing folder is simply empty."""
    entries: set[tuple[str, int, int]] = set()
    if not folder.is_dir():
        return frozenset()
    for path in folder.rglob("*.md"):
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat
        if stat_module.S_ISREG(stat.st_mode):
            entries.add((path.relative_to(folder).as_posix(), stat.st_mtime_ns, stat.st_size))
    return frozenset(entries)


def _build(
    folder: Path, signature: _Signature
) -> tuple[_Index, list[tuple[tuple[str, int, int], str]]]:
    """Read and index the files of `signature`, returning the files it had to skip."""
    sections: list[_Section] = []
    skipped: list[tuple[tuple[str, int, int], str]] = []
    for entry in sorted(signature):
        relative, _, size = entry
        if size > MAX_FILE_BYTES:
            skipped.append((entry, f"larger than {MAX_FILE_BYTES} bytes"))
            continue
        try:
            text = (folder / relative).read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            skipped.append((entry, "not UTF-8"))
            continue
        except OSError as exc:
            skipped.append((entry, f"unreadable ({exc.strerror or type(exc).__name__})"))
            continue
        sections.extend(_sections(relative, text))
    doc_freq: Counter[str] = Counter()
    for section in sections:
        doc_freq.update(section.terms.keys())
    avg = sum(s.length for s in sections) / len(sections) if sections else 0.0
    return _Index(tuple(sections), dict(doc_freq), avg), skipped


def _sections(relative: str, text: str) -> list[_Section]:
    """Split a markdown file at its headings; text before the first heading is its own part."""
    parts: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if _FENCE_RE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING_RE.match(line)
        if match:
            parts.append((match.group(2).strip(), []))
        else:
            parts[-1][1].append(line)

    sections: list[_Section] = []
    used: Counter[str] = Counter()
    for heading, lines in parts:
        body = "\n".join(lines).strip()
        if not body:
            continue
        anchor = _slug(heading)
        if anchor:
            # Repeated headings get GitHub's -1, -2... suffixes so each source is distinct.
            suffix = f"-{used[anchor]}" if used[anchor] else ""
            used[anchor] += 1
            anchor += suffix
        terms = Counter(_tokens(body))
        for _ in range(_HEADING_WEIGHT):
            terms.update(_tokens(heading))
        if not terms:
            continue
        sections.append(
            _Section(
                source=f"{relative}#{anchor}" if anchor else relative,
                text=_shorten(body, MAX_SECTION_CHARS),
                terms=terms,
                length=sum(terms.values()),
            )
        )
    return sections


def _tokens(text: str) -> list[str]:
    return [_stem(w) for w in _WORD_RE.findall(text.lower()) if w not in _STOP_WORDS]


def _stem(word: str) -> str:
    """Fold plurals together ("ports" finds "port") without a real stemmer's surprises."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _slug(heading: str) -> str:
    words = re.sub(r"[^\w\- ]", "", heading.lower()).strip()
    return re.sub(r" ", "-", words)


def _shorten(text: str, limit: int) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"
