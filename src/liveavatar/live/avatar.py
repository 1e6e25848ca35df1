"""Gemini's own live avatar (reference §14): what the setup asks for, the reference image
it may carry, and which refusals mean "this endpoint cannot do it" (the session then goes
on with the drawn avatar, `link.py`).

The image is checked here before it is ever sent: the service answers a wrong one only
with a bare 1011 at setup, or with 1008 once the avatar starts to animate (§14.5).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

# G2's prebuilt avatars (§14.2); no official list exists. The emulator draws these same
# names (`emulator/face.py`).
PREBUILT_AVATARS: tuple[str, ...] = (
    "Jay",
    "Paul",
    "Sam",
    "Ingrid",
    "Kira",
    "Vera",
    "Ben",
    "Kai",
    "Leo",
    "Carmen",
    "Piper",
)
MIN_WIDTH, MIN_HEIGHT = 704, 1280  # [SDK]: "9:16 (portrait) with a minimum of 704x1280"
# 704x1280 itself is 0.55 wide per unit of height against 9:16's 0.5625: the documented
# minimum must pass, so the ratio is held within 0.025 of 9:16.
RATIO_TOLERANCE = 0.025
MAX_IMAGE_BYTES = 4 * 1024 * 1024  # base64 in the setup frame: well under any frame limit
REFERENCE_IMAGES_PREFIX = "avatar-images/"  # where the dashboard's Media page puts them
ImageMime = Literal["image/png", "image/jpeg"]

# Closes at setup that mean the endpoint will not render this avatar: 1007/1008 for a
# project not allowed, 1011 for a refused reference image (§14.1, §14.5).
REFUSED_AT_SETUP = frozenset({1007, 1008, 1011})
# After `setupComplete`: a reference image blocked by safety policy comes as 1008 once the
# avatar starts to animate; 1007 is an invalid argument, as at setup.
REFUSED_LATER = frozenset({1007, 1008})


class ReferenceImageError(ValueError):
    """The reference image cannot be sent; the message says why, for the admin."""


@dataclass(frozen=True)
class NativeAvatar:
    """Which avatar Live renders: a prebuilt one by name, or one from a reference image
    (already checked by `check_reference_image`)."""

    name: str | None = None
    image: bytes | None = None
    image_mime: ImageMime | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (self.image is None):
            raise ValueError("a native avatar is a prebuilt name or a reference image")
        if self.image is not None and self.image_mime is None:
            raise ValueError("a reference image needs its MIME type")

    def __repr__(self) -> str:  # never the image's bytes in a log line
        return f"NativeAvatar(name={self.name!r}, image={len(self.image or b'')} bytes)"


def avatar_config_json(avatar: NativeAvatar) -> dict[str, Any]:
    """`setup.avatarConfig`, with the snake_case keys inside that the SDK sends (§14.2)."""
    if avatar.name is not None:
        return {"avatar_name": avatar.name}
    assert avatar.image is not None
    return {
        "customized_avatar": {
            "image_mime_type": avatar.image_mime,
            # The SDK's bytes serialiser: URL-safe base64 (the service reads either, §2).
            "image_data": base64.urlsafe_b64encode(avatar.image).decode("ascii"),
        }
    }


def check_reference_image(data: bytes) -> ImageMime:
    """The MIME type of a reference image Live accepts: PNG or JPEG by its magic bytes,
    9:16 portrait, at least 704x1280, at most MAX_IMAGE_BYTES.

    Raises:
        ReferenceImageError: naming what is wrong ("not a PNG or JPEG image", "1280x720
            is not portrait 9:16", ...).
    """
    if len(data) > MAX_IMAGE_BYTES:
        limit = MAX_IMAGE_BYTES // (1024 * 1024)
        raise ReferenceImageError(f"the image is larger than {limit} MiB")
    mime: ImageMime
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        mime, size = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        mime, size = "image/jpeg", _jpeg_size(data)
    else:
        raise ReferenceImageError("not a PNG or JPEG image (WebP and others are refused)")
    if size is None:
        raise ReferenceImageError("the image's size cannot be read: a damaged file?")
    width, height = size
    if width >= height or abs(width / height - 9 / 16) > RATIO_TOLERANCE:
        raise ReferenceImageError(f"{width}x{height} is not portrait 9:16")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ReferenceImageError(
            f"{width}x{height} is below the minimum of {MIN_WIDTH}x{MIN_HEIGHT}"
        )
    return mime


def _png_size(data: bytes) -> tuple[int, int] | None:
    # The first chunk must be IHDR: width and height, 4 bytes each, big-endian.
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF:
            if i + 9 > len(data):
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        i += 2 + length
    return None
