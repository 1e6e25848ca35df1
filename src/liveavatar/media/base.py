"""The avatar media contract: the `MediaStore` protocol, its object record, errors and names.

Two backends implement it: a local folder served by the backend itself (`local.py`) and a
Cloud Storage bucket (`gcs.py`). Both hand the browser short-lived signed URLs, so the
media never needs to be public.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from liveavatar.errors import AvatarError

Method = Literal["GET", "PUT"]

MAX_NAME_LENGTH = 256
MAX_NAME_DEPTH = 8
# Cloud Storage refuses v4 signed URLs valid for more than seven days; the local backend
# keeps the same ceiling so a setting means the same thing on both.
MAX_TTL_S = 7 * 24 * 3600
DEFAULT_TTL_S = 3600
DEFAULT_LIST_LIMIT = 1000

# One segment: starts with a letter or digit (so no `.`, `..`, hidden or dash-led names),
# then letters, digits, `.`, `_`, `-`. Segments are joined by single `/`.
_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_NAME_RE = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_PREFIX_RE = re.compile(rf"(?:{_SEGMENT}/)*(?:{_SEGMENT})?")

# Explicit because `mimetypes` depends on the host's /etc/mime.types and misses some
# video types on minimal images.
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".mov": "video/quicktime",
    ".ogv": "video/ogg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}


class MediaError(AvatarError):
    """Base of the media errors; messages are safe to show (no secrets, no paths)."""


class InvalidMediaName(MediaError, ValueError):
    """A media name or prefix outside the allowed shape (traversal, charset, length)."""


class MediaSigningError(MediaError):
    """A signed URL could not be produced (credentials cannot sign, IAM refused...)."""


class MediaUnavailable(MediaError):
    """The storage backend failed (I/O error, Cloud Storage unreachable or refusing)."""


class MediaTooLarge(MediaError):
    """An upload, or an object read with `get`, exceeded the size limit."""


class MediaNotFound(MediaError, LookupError):
    """`get` asked for an object that is not stored."""


@dataclass(frozen=True)
class MediaObject:
    """One stored media object as listed by a store."""

    name: str
    size: int
    content_type: str
    updated: datetime  # timezone-aware, UTC


@runtime_checkable
class MediaStore(Protocol):
    """Where avatar media lives. Every method is safe to call on the event loop."""

    async def signed_url(
        self, name: str, *, ttl_s: int | None = None, method: Method = "GET"
    ) -> str:
        """An absolute URL that allows `method` on `name` until `ttl_s` seconds from now.

        `ttl_s=None` uses the store's configured default. Raises `InvalidMediaName`, and
        `ValueError` for a ttl outside 1..`MAX_TTL_S`. The object need not exist yet.
        """
        ...

    async def list(self, prefix: str = "", *, limit: int = DEFAULT_LIST_LIMIT) -> list[MediaObject]:
        """Objects whose name starts with `prefix`, sorted by name, at most `limit`."""
        ...

    async def put(self, name: str, data: bytes, content_type: str) -> None:
        """Create or replace `name` (admin uploads from the dashboard)."""
        ...

    async def append(self, name: str, data: bytes, content_type: str) -> None:
        """Add `data` at the end of `name`, creating it if missing (conversation
        recordings, streamed as they are made). Only one writer appends to a name at a
        time; a reader sees the object as it was before or after an append, never a torn
        middle on Cloud Storage (locally, at worst a partly written last append)."""
        ...

    async def get(self, name: str, *, max_bytes: int) -> bytes:
        """The bytes of `name`. Raises `MediaNotFound`, or `MediaTooLarge` when it is
        larger than `max_bytes`."""
        ...

    async def delete(self, name: str) -> None:
        """Remove `name`; removing a missing object is not an error."""
        ...

    async def exists(self, name: str) -> bool:
        """Whether `name` is stored."""
        ...


def validate_name(name: str) -> str:
    """Return `name` if it is a safe object name, else raise `InvalidMediaName`.

    Allowed: `/`-separated segments of letters, digits, `.`, `_`, `-`, each starting with a
    letter or digit; at most `MAX_NAME_LENGTH` characters and `MAX_NAME_DEPTH` segments. That
    rules out `..`, absolute paths, backslashes, empty segments and hidden files.
    """
    if (
        not isinstance(name, str)
        or len(name) > MAX_NAME_LENGTH
        or not _NAME_RE.fullmatch(name)
        or name.count("/") >= MAX_NAME_DEPTH
    ):
        raise InvalidMediaName(f"invalid media name: {_shown(name)}")
    return name


def validate_prefix(prefix: str) -> str:
    """Return `prefix` if it is empty or a valid name start (e.g. `idle/`), else raise."""
    if (
        not isinstance(prefix, str)
        or len(prefix) > MAX_NAME_LENGTH
        or not _PREFIX_RE.fullmatch(prefix)
    ):
        raise InvalidMediaName(f"invalid media prefix: {_shown(prefix)}")
    return prefix


def validate_ttl(ttl_s: int) -> int:
    """Return `ttl_s` if it is a usable signed-URL lifetime, else raise `ValueError`."""
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not 1 <= ttl_s <= MAX_TTL_S:
        raise ValueError(f"ttl_s must be an integer in 1..{MAX_TTL_S}, got {ttl_s!r}")
    return ttl_s


def content_type_for(name: str) -> str:
    """The Content-Type to serve `name` with, from its extension."""
    dot = name.rfind(".")
    ext = name[dot:].lower() if dot > name.rfind("/") else ""
    known = _CONTENT_TYPES.get(ext)
    if known:
        return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def _shown(value: object) -> str:
    # Names come from URLs: show a bounded, escaped excerpt so a log line stays one line.
    return repr(value)[:80]
