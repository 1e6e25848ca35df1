"""Unit tests for video-frame validation and description."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image, ImageDraw

from liveavatar.emulator.vision import (
    MAX_FRAME_BYTES,
    FrameInfo,
    InvalidFrameError,
    describe_frame,
    validate_frame,
)

COLOURS = {
    "red": (220, 20, 30),
    "orange": (255, 140, 0),
    "yellow": (250, 220, 20),
    "green": (30, 160, 40),
    "cyan": (0, 220, 220),
    "blue": (20, 40, 200),
    "purple": (120, 30, 160),
    "pink": (255, 150, 190),
    "brown": (120, 70, 20),
    "black": (5, 5, 5),
    "white": (250, 250, 250),
    "grey": (128, 128, 128),
}


def _encode(image: Image.Image, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return out.getvalue()


def _solid(colour: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> Image.Image:
    return Image.new("RGB", size, colour)


@pytest.mark.parametrize(("name", "rgb"), COLOURS.items())
def test_solid_colours_are_named(name: str, rgb: tuple[int, int, int]) -> None:
    info = describe_frame(_encode(_solid(rgb)))
    assert info == FrameInfo(640, 480, name, "image/jpeg")


@pytest.mark.parametrize(
    ("size", "major", "minor"),
    [((640, 480), "blue", "red"), ((320, 240), "green", "white"), ((1280, 720), "black", "yellow")],
)
def test_two_colour_frame_reports_the_majority(
    size: tuple[int, int], major: str, minor: str
) -> None:
    image = _solid(COLOURS[major], size)
    # The minor colour covers the left 30 %.
    ImageDraw.Draw(image).rectangle((0, 0, size[0] * 3 // 10, size[1]), fill=COLOURS[minor])
    info = describe_frame(_encode(image))
    assert (info.width, info.height, info.dominant_colour) == (*size, major)


def test_sentence() -> None:
    info = describe_frame(_encode(_solid(COLOURS["blue"])))
    assert info.sentence() == "I see an image 640 by 480 pixels, mostly blue."


def test_png_and_webp_are_accepted_with_their_own_type() -> None:
    png = validate_frame(_encode(_solid(COLOURS["green"], (50, 30)), "PNG"), "image/png")
    assert png == FrameInfo(50, 30, "green", "image/png")
    webp = validate_frame(_encode(_solid(COLOURS["orange"], (64, 64)), "WEBP"), "image/webp")
    assert webp == FrameInfo(64, 64, "orange", "image/webp")


def test_transparent_png_counts_as_white_background() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 20, 20), fill=(255, 0, 0, 255))
    assert validate_frame(_encode(image, "PNG"), "image/png").dominant_colour == "white"


def test_mime_aliases_parameters_and_case() -> None:
    jpeg = _encode(_solid(COLOURS["red"]))
    for mime in ("image/jpg", "IMAGE/JPEG", "image/jpeg; quality=80"):
        assert validate_frame(jpeg, mime).mime_type == "image/jpeg"


def test_tiny_and_large_frames_report_true_size() -> None:
    assert describe_frame(_encode(_solid(COLOURS["cyan"], (1, 1)))).width == 1
    large = describe_frame(_encode(_solid(COLOURS["cyan"], (4096, 64))))
    assert (large.width, large.height, large.dominant_colour) == (4096, 64, "cyan")


async def test_describe_frame_runs_in_a_thread() -> None:
    info = await asyncio.to_thread(describe_frame, _encode(_solid(COLOURS["pink"])))
    assert info.dominant_colour == "pink"


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"garbage", b"\xff\xd8\xff" + bytes(100), bytes(1000)])
def test_garbage_is_refused(data: bytes) -> None:
    with pytest.raises(InvalidFrameError):
        describe_frame(data)


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_jpeg_is_refused(keep: float) -> None:
    jpeg = _encode(_solid(COLOURS["blue"]))
    with pytest.raises(InvalidFrameError):
        describe_frame(jpeg[: int(len(jpeg) * keep)])


def test_mislabelled_frames_are_refused() -> None:
    png = _encode(_solid(COLOURS["red"], (64, 64)), "PNG")
    with pytest.raises(InvalidFrameError, match="declared image/jpeg but the data is PNG"):
        describe_frame(png)
    with pytest.raises(InvalidFrameError, match="declared image/png"):
        validate_frame(_encode(_solid(COLOURS["red"])), "image/png")


@pytest.mark.parametrize("mime", ["image/gif", "image/bmp", "text/plain", "", "jpeg"])
def test_unsupported_types_are_refused(mime: str) -> None:
    gif = _encode(_solid(COLOURS["red"], (8, 8)), "GIF")
    with pytest.raises(InvalidFrameError, match="unsupported"):
        validate_frame(gif, mime)


@pytest.mark.parametrize("size", [(4097, 8), (8, 5000)])
def test_oversized_dimensions_are_refused(size: tuple[int, int]) -> None:
    # PNG keeps a big blank image small on the wire, which is the case the limit is for.
    data = _encode(Image.new("L", size), "PNG")
    assert len(data) < MAX_FRAME_BYTES
    with pytest.raises(InvalidFrameError, match="exceeds"):
        validate_frame(data, "image/png")


def test_oversized_data_is_refused() -> None:
    data = _encode(_solid(COLOURS["red"], (16, 16))) + bytes(MAX_FRAME_BYTES)
    with pytest.raises(InvalidFrameError, match="bytes exceeds"):
        describe_frame(data)


def test_invalid_frame_error_is_a_value_error() -> None:
    assert issubclass(InvalidFrameError, ValueError)
