"""What an uploaded reference image for the native avatar must be before it is stored,
and where it goes: the checks Live's own would make (`live/avatar.py`: PNG or JPEG by
its bytes, 9:16 portrait, at least 704x1280, the size bound) plus a name and declared
type that say the same format, all on the bytes in memory before any write."""

from __future__ import annotations

import re
from dataclasses import dataclass

from liveavatar.live.avatar import (
    MAX_IMAGE_BYTES,
    REFERENCE_IMAGES_PREFIX,
    ImageMime,
    ReferenceImageError,
    check_reference_image,
)
from liveavatar.media.base import validate_name

ACCEPTED_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg")
_BY_EXTENSION: dict[str, ImageMime] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 80

__all__ = ["MAX_IMAGE_BYTES", "ReferenceImage", "ReferenceImageError", "check_upload"]


@dataclass(frozen=True)
class ReferenceImage:
    """An accepted image: its media name and type."""

    name: str
    content_type: ImageMime


def check_upload(filename: str, declared_type: str | None, data: bytes) -> ReferenceImage:
    """Accept `data` as a reference image or raise `ReferenceImageError` saying why."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    by_name = _BY_EXTENSION.get(ext.lower()) if dot else None
    if by_name is None:
        raise ReferenceImageError("only .png, .jpg and .jpeg images are accepted")
    mime = check_reference_image(data)
    declared = (declared_type or "").split(";")[0].strip().lower()
    if mime != by_name or (declared and declared != mime):
        raise ReferenceImageError(
            f"the file's content is {mime}, but its name or type says {declared or by_name}"
        )
    safe = _UNSAFE.sub("-", stem).strip("-._")[:_MAX_STEM] or "avatar"
    return ReferenceImage(validate_name(f"{REFERENCE_IMAGES_PREFIX}{safe}.{ext.lower()}"), mime)
