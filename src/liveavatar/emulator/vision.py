"""Honest, cheap description of a video frame: its size and dominant colour, nothing invented."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

MAX_FRAME_BYTES = 2 * 1024 * 1024
"""Largest encoded frame accepted, in bytes."""

MAX_FRAME_SIDE = 4096
"""Largest accepted width or height, in pixels."""

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
_MIME_BY_FORMAT = {fmt: mime for mime, fmt in _FORMATS.items()}
_SAMPLE_SIDE = 32

FloatArray = npt.NDArray[np.float32]
LabelArray = npt.NDArray[np.intp]

# Label indices into _COLOURS; ties in the vote go to the earlier name.
_COLOURS = (
    "black",
    "white",
    "grey",
    "red",
    "orange",
    "yellow",
    "green",
    "cyan",
    "blue",
    "purple",
    "pink",
    "brown",
)
(_BLACK, _WHITE, _GREY, _RED, _ORANGE, _YELLOW, _GREEN, _CYAN, _BLUE, _PURPLE, _PINK, _BROWN) = (
    range(12)
)
# Exclusive upper hue bound in degrees of each chromatic name, from the previous bound up.
_HUE_BANDS: tuple[tuple[int, int], ...] = (
    (15, _RED),
    (45, _ORANGE),
    (70, _YELLOW),
    (165, _GREEN),
    (195, _CYAN),
    (255, _BLUE),
    (315, _PURPLE),
    (345, _PINK),
    (361, _RED),
)


class InvalidFrameError(ValueError):
    """The frame is not a decodable image of the declared, supported type within the limits."""


@dataclass(frozen=True)
class FrameInfo:
    """What can honestly be said about a frame: pixel size, dominant colour, real MIME type."""

    width: int
    height: int
    dominant_colour: str
    mime_type: str

    def sentence(self) -> str:
        """One plain-English sentence, e.g. "I see an image 640 by 480 pixels, mostly blue."."""
        return (
            f"I see an image {self.width} by {self.height} pixels, mostly {self.dominant_colour}."
        )


def describe_frame(jpeg: bytes) -> FrameInfo:
    """Describe a JPEG frame; same as ``validate_frame(jpeg, "image/jpeg")``.

    Blocking CPU work (around a millisecond for a 640x480 frame): from async code call it via
    ``asyncio.to_thread``. Raises ``InvalidFrameError``.
    """
    return validate_frame(jpeg, "image/jpeg")


def validate_frame(data: bytes, mime_type: str) -> FrameInfo:
    """Check that ``data`` is a real image of the declared type and describe it.

    Accepts ``image/jpeg`` (alias ``image/jpg``), ``image/png`` and ``image/webp``; MIME
    parameters and case are ignored. Data whose actual format differs from the declared one
    is refused: a mislabelled frame is a client bug, and refusing it surfaces the bug instead
    of letting a test pass against the emulator that might fail against the real service.
    Raises ``InvalidFrameError`` for unsupported types, more than ``MAX_FRAME_BYTES`` bytes,
    a side over ``MAX_FRAME_SIDE`` pixels, or undecodable or truncated data.

    Blocking CPU work and not async-aware: from async code call it via ``asyncio.to_thread``.
    Thread-safe.
    """
    mime = mime_type.split(";", 1)[0].strip().lower()
    mime = _MIME_ALIASES.get(mime, mime)
    expected = _FORMATS.get(mime)
    if expected is None:
        raise InvalidFrameError(f"unsupported frame type {mime_type!r}")
    if len(data) > MAX_FRAME_BYTES:
        raise InvalidFrameError(f"frame of {len(data)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        # Only the accepted formats, so Pillow never runs a decoder for anything exotic.
        with Image.open(io.BytesIO(data), formats=list(_FORMATS.values())) as img:
            actual = img.format or ""
            if actual != expected:
                raise InvalidFrameError(f"declared {mime} but the data is {actual}")
            width, height = img.size
            # Checked before decoding so a small file cannot inflate into a huge bitmap.
            if width > MAX_FRAME_SIDE or height > MAX_FRAME_SIDE:
                raise InvalidFrameError(f"frame {width}x{height} exceeds {MAX_FRAME_SIDE} px")
            colour = _dominant_colour(img)
    except InvalidFrameError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        # The warning only arrives as an exception when warnings are errors (as under pytest).
        raise InvalidFrameError(f"not a valid {mime} image: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports truncated or corrupt data through any of these.
        raise InvalidFrameError(f"corrupt {mime} image: {exc}") from exc
    return FrameInfo(width, height, colour, _MIME_BY_FORMAT[expected])


def _dominant_colour(img: Image.Image) -> str:
    """Most common colour name among the pixels of a small thumbnail."""
    # JPEG can decode straight to 1/2..1/8 scale, which makes big frames cheap.
    img.draft("RGB", (_SAMPLE_SIDE * 2, _SAMPLE_SIDE * 2))
    img.load()
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        # Transparent areas count as the white page a viewer would show behind them.
        rgba = img.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, (255, 255, 255))
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = img.convert("RGB")
    small = rgb.resize((_SAMPLE_SIDE, _SAMPLE_SIDE), Image.Resampling.BOX)
    hsv = np.asarray(small.convert("HSV"), dtype=np.float32).reshape(-1, 3) / 255.0
    labels = _classify(hsv[:, 0] * 360.0, hsv[:, 1], hsv[:, 2])
    counts = np.bincount(labels, minlength=len(_COLOURS))
    return _COLOURS[int(np.argmax(counts))]


def _classify(hue: FloatArray, sat: FloatArray, val: FloatArray) -> LabelArray:
    """Colour label per pixel from hue in degrees and saturation and value in 0..1."""
    labels = np.full(hue.shape, _RED, dtype=np.intp)
    for bound, label in reversed(_HUE_BANDS):
        labels[hue < bound] = label
    # Dark oranges and golds read as brown; light, weak reds and purples read as pink.
    labels[(hue >= 15) & (hue < 50) & (val < 0.6)] = _BROWN
    labels[((labels == _RED) | (labels == _PURPLE)) & (sat < 0.5) & (val > 0.7)] = _PINK
    # JPEG noise gives greys a little saturation, hence the 0.2 threshold.
    grey = sat < 0.2
    labels[grey] = np.where(val[grey] > 0.85, _WHITE, _GREY)
    labels[val < 0.2] = _BLACK
    return labels
