"""Video frames checked at the edge: a real, decodable image of the declared type and size.

Live answers a frame it cannot use by dropping the connection, which costs a reconnect; so
every `video_frame` is opened with Pillow here first and refused with a recoverable
`bad_request` unless it is a JPEG, PNG or WebP image of its `mime_type`, within
MAX_FRAME_SIDE and MAX_FRAME_PIXELS, that decodes completely. The bytes forwarded are the
browser's own; nothing is re-encoded.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass

from PIL import Image

from liveavatar.errors import RecoverableProtocolError

MAX_FRAME_SIDE = 4096
"""Largest width or height accepted, in pixels (the page sends at most 768)."""

MAX_FRAME_PIXELS = 4096 * 2304
"""Largest width x height accepted (about 9.4 MP: a 4K UHD or DCI 4K frame fits)."""

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


@dataclass(frozen=True)
class ImageInfo:
    """What the check found: Pillow's format name and the size in pixels."""

    format: str
    width: int
    height: int


class BadImage(RecoverableProtocolError):
    """A video frame that is not a usable image; the frame is dropped, the session goes on."""


async def check_image_async(data: bytes, mime_type: str) -> ImageInfo:
    """check_image in a worker thread: decoding is CPU work the event loop must not do."""
    return await asyncio.to_thread(check_image, data, mime_type)


def check_image(data: bytes, mime_type: str) -> ImageInfo:
    """Open and fully decode `data`, checking it is a `mime_type` image within the limits.

    Blocking and CPU-bound (call it via check_image_async from async code); thread-safe.

    Raises:
        BadImage: unsupported `mime_type`, other or unknown format, too large, or data
            that does not decode (corrupt or truncated).
    """
    expected = _FORMATS.get(mime_type)
    if expected is None:
        raise BadImage(f"Unsupported video_frame.mime_type {mime_type[:40]!r}.")
    try:
        # Only these formats: Pillow never runs a decoder for anything exotic (EPS, ...).
        with Image.open(io.BytesIO(data), formats=list(_FORMATS.values())) as img:
            if img.format != expected:
                raise BadImage(f"video_frame.data is {img.format}, but mime_type is {mime_type}.")
            width, height = img.size
            # Checked before decoding, so a tiny file cannot inflate into a huge bitmap.
            if max(width, height) > MAX_FRAME_SIDE or width * height > MAX_FRAME_PIXELS:
                raise BadImage(
                    f"Video frame too large: {width}x{height} px; at most {MAX_FRAME_SIDE} px "
                    f"a side and {MAX_FRAME_PIXELS} pixels."
                )
            if expected == "JPEG":
                # JPEG decodes straight to 1/8 scale: every scan is still read (so corrupt or
                # truncated data still fails) for a fraction of the memory and time.
                img.draft(img.mode, (max(1, width // 8), max(1, height // 8)))
            img.load()
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own bomb guard (Image.MAX_IMAGE_PIXELS, left at its default, far above
        # MAX_FRAME_PIXELS) fires at open, before the size check above can. The warning
        # only arrives as an exception where warnings are errors (as under pytest); elsewhere
        # Python prints it once and the size check refuses the frame.
        raise BadImage(
            f"Video frame too large: at most {MAX_FRAME_SIDE} px a side and "
            f"{MAX_FRAME_PIXELS} pixels."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports unknown, corrupt or truncated data through any of these
        # (UnidentifiedImageError is an OSError).
        raise BadImage(f"video_frame.data is not a decodable {mime_type} image.") from exc
    return ImageInfo(expected, width, height)
