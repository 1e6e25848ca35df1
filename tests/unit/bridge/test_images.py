"""Video frames checked at the edge with Pillow: real, decodable, of the declared type, bounded."""

from __future__ import annotations

import io
import struct
import threading
import zlib

import pytest
from PIL import Image, ImageFile

from liveavatar.bridge.images import (
    MAX_FRAME_PIXELS,
    MAX_FRAME_SIDE,
    BadImage,
    ImageInfo,
    check_image,
    check_image_async,
)
from liveavatar.errors import RecoverableProtocolError

FORMATS = [("image/jpeg", "JPEG"), ("image/png", "PNG"), ("image/webp", "WEBP")]


def encode(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    img = Image.new("RGB", size)
    img.putdata(
        [((x * 4) % 256, (y * 5) % 256, 90) for y in range(size[1]) for x in range(size[0])]
    )
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A few dozen bytes of PNG whose header claims `width` x `height`."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG with its frame header (SOF0) rewritten to claim another size."""
    data = bytearray(encode("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    # SOF0: marker, length (2), precision (1), height (2), width (2).
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(("mime", "fmt"), FORMATS)
def test_valid_images_pass(mime: str, fmt: str) -> None:
    assert check_image(encode(fmt), mime) == ImageInfo(fmt, 64, 48)


def test_the_largest_allowed_frame_passes() -> None:
    side = MAX_FRAME_PIXELS // MAX_FRAME_SIDE
    assert check_image(encode("JPEG", (MAX_FRAME_SIDE, side)), "image/jpeg").width == MAX_FRAME_SIDE


@pytest.mark.parametrize(
    "data",
    [b"", b"definitely not an image, just text" * 4, b"GIF89a" + b"\x00" * 64],
    ids=["empty", "text", "gif"],
)
@pytest.mark.parametrize(("mime", "_fmt"), FORMATS)
def test_bytes_that_are_no_accepted_image_are_refused(data: bytes, mime: str, _fmt: str) -> None:
    with pytest.raises(BadImage, match="not a decodable"):
        check_image(data, mime)


@pytest.mark.parametrize(("mime", "fmt"), FORMATS)
def test_truncated_images_are_refused(mime: str, fmt: str) -> None:
    data = encode(fmt)
    with pytest.raises(BadImage, match="not a decodable"):
        check_image(data[: len(data) * 2 // 3], mime)


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (encode("PNG"), "image/jpeg"),
        (encode("JPEG"), "image/png"),
        (encode("WEBP"), "image/jpeg"),
        (encode("JPEG"), "image/webp"),
    ],
    ids=["png-as-jpeg", "jpeg-as-png", "webp-as-jpeg", "jpeg-as-webp"],
)
def test_a_mime_type_that_does_not_match_the_bytes_is_refused(data: bytes, mime: str) -> None:
    with pytest.raises(BadImage, match="but mime_type is"):
        check_image(data, mime)


@pytest.mark.parametrize(
    "data",
    [
        png_claiming(MAX_FRAME_SIDE + 1, 10),  # over the side limit, few pixels
        png_claiming(3500, 3500),  # within the side limit, over the pixel budget
        png_claiming(10_000, 10_000),  # Pillow warns (DecompressionBombWarning)
        png_claiming(100_000, 100_000),  # Pillow refuses (DecompressionBombError)
        jpeg_claiming(65_000, 65_000),
    ],
    ids=["wide", "budget", "bomb-warning", "bomb-error", "jpeg-bomb"],
)
def test_huge_dimensions_in_a_tiny_file_are_refused_before_decoding(data: bytes) -> None:
    assert len(data) < 1_000
    mime = "image/jpeg" if data.startswith(b"\xff\xd8") else "image/png"
    with pytest.raises(BadImage, match="too large"):
        check_image(data, mime)


def test_an_unsupported_mime_type_is_refused() -> None:
    with pytest.raises(BadImage, match="Unsupported"):
        check_image(encode("PNG"), "image/gif")


def test_bad_images_are_recoverable_bad_requests() -> None:
    assert issubclass(BadImage, RecoverableProtocolError)
    assert BadImage.fault.code == "bad_request" and BadImage.fault.close_code is None


async def test_the_async_check_decodes_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode("PNG")
    seen: list[bool] = []
    real = ImageFile.ImageFile.load

    def load(self: ImageFile.ImageFile) -> object:
        seen.append(threading.current_thread() is threading.main_thread())
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    assert await check_image_async(data, "image/png") == ImageInfo("PNG", 64, 48)
    assert seen and not any(seen)
