"""What an uploaded avatar clip must be before it is stored, and where it goes.

A clip is accepted only when its declared type, its extension and its first bytes all say
the same container (MP4 or WebM), it fits the size limit, and its container states a
duration within bounds. Everything is decided on the bytes in memory, before any write,
so a refused file leaves nothing behind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from liveavatar.media.avatar import CATEGORIES
from liveavatar.media.base import validate_name

from .containers import (
    ContainerError,
    is_ebml,
    is_mp4,
    mp4_duration,
    webm_doctype,
    webm_duration,
)

Kind = Literal["mp4", "webm"]

# A clip loops behind the avatar: a few seconds is normal, a minute is surely a mistake.
MAX_CLIP_BYTES = 20 * 1024 * 1024
MAX_CLIP_SECONDS = 60.0
MIN_CLIP_SECONDS = 0.1
ACCEPTED_EXTENSIONS: tuple[str, ...] = ("mp4", "webm")

_TYPES: dict[Kind, str] = {"mp4": "video/mp4", "webm": "video/webm"}
_EXTENSIONS: dict[str, Kind] = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 80


class ClipRejected(ValueError):
    """The upload is not an acceptable clip; the message says why, for the admin."""


@dataclass(frozen=True)
class Clip:
    """An accepted clip, ready to store."""

    kind: Kind
    content_type: str
    duration_s: float
    size: int


def check_clip(
    filename: str,
    declared_type: str | None,
    data: bytes,
    *,
    max_bytes: int = MAX_CLIP_BYTES,
    max_seconds: float = MAX_CLIP_SECONDS,
) -> Clip:
    """Accept `data` as a clip or raise `ClipRejected` naming the first problem."""
    if len(data) > max_bytes:
        raise ClipRejected(f"{_mb(len(data))} is over the {_mb(max_bytes)} limit for a clip")
    if not data:
        raise ClipRejected("the file is empty")
    by_extension = _kind_of_extension(filename)
    if by_extension is None:
        raise ClipRejected("only .mp4 and .webm clips are accepted")
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared != _TYPES[by_extension]:
        raise ClipRejected(
            f"the file is named .{by_extension} but declared as {declared or 'no type'}"
        )
    by_content = _kind_of_content(data)
    if by_content != by_extension:
        shown = by_content or "neither MP4 nor WebM"
        raise ClipRejected(f"the file's content is {shown}, not the {by_extension} its name says")
    try:
        seconds = mp4_duration(data) if by_content == "mp4" else webm_duration(data)
    except ContainerError as exc:
        raise ClipRejected(f"unreadable {by_content} file: {exc}") from None
    if seconds > max_seconds:
        raise ClipRejected(f"the clip lasts {seconds:.1f} s, longer than {max_seconds:g} s")
    if seconds < MIN_CLIP_SECONDS:
        raise ClipRejected(f"the clip lasts {seconds:.2f} s, too short to play")
    return Clip(by_content, _TYPES[by_content], seconds, len(data))


def clip_object_name(category: str, filename: str) -> str:
    """The media name a clip of `category` is stored under: `<category>/<safe file name>`."""
    if category not in CATEGORIES:
        raise ClipRejected(f"unknown clip category {category!r}")
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    safe = _UNSAFE.sub("-", stem).strip("-._")[:_MAX_STEM] or "clip"
    return validate_name(f"{category}/{safe}.{ext.lower()}" if ext else f"{category}/{safe}")


def _kind_of_extension(filename: str) -> Kind | None:
    dot = filename.rfind(".")
    return _EXTENSIONS.get(filename[dot:].lower()) if dot >= 0 else None


def _kind_of_content(data: bytes) -> Kind | None:
    if is_mp4(data):
        return "mp4"
    if is_ebml(data):
        try:
            return "webm" if webm_doctype(data) == "webm" else None
        except ContainerError:
            return None
    return None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
