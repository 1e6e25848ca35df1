"""The native avatar's reference image is checked before it is ever sent (§14.2, §14.5)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from liveavatar.live.avatar import (
    MAX_IMAGE_BYTES,
    NativeAvatar,
    ReferenceImageError,
    avatar_config_json,
    check_reference_image,
)


def image(width: int, height: int, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 150, 120)).save(out, format=fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("size", "fmt", "mime"),
    [
        ((704, 1280), "PNG", "image/png"),
        ((720, 1280), "JPEG", "image/jpeg"),
        ((1080, 1920), "JPEG", "image/jpeg"),
    ],
)
def test_portrait_png_and_jpeg_pass(size: tuple[int, int], fmt: str, mime: str) -> None:
    assert check_reference_image(image(*size, fmt)) == mime


def test_a_progressive_jpeg_is_measured_too() -> None:
    out = io.BytesIO()
    Image.new("RGB", (720, 1280)).save(out, format="JPEG", progressive=True)
    assert check_reference_image(out.getvalue()) == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (image(720, 1280, "WEBP"), "not a PNG or JPEG"),
        (b"GIF89a" + b"\x00" * 40, "not a PNG or JPEG"),
        (image(1280, 720, "PNG"), "1280x720 is not portrait 9:16"),
        (image(720, 720, "JPEG"), "720x720 is not portrait 9:16"),
        (image(600, 1280, "PNG"), "600x1280 is not portrait 9:16"),
        (image(360, 640, "PNG"), "360x640 is below the minimum of 704x1280"),
        (image(720, 1280, "PNG")[:20], "cannot be read"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 8, "cannot be read"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(ReferenceImageError, match=why):
        check_reference_image(data)


def test_a_huge_file_is_refused_before_it_is_parsed() -> None:
    data = image(720, 1280, "PNG")
    with pytest.raises(ReferenceImageError, match="larger than 4 MiB"):
        check_reference_image(data + b"\x00" * (MAX_IMAGE_BYTES - len(data) + 1))


def test_the_setup_field_is_snake_case_inside_as_the_sdk_sends() -> None:
    assert avatar_config_json(NativeAvatar(name="Kira")) == {"avatar_name": "Kira"}
    custom = avatar_config_json(NativeAvatar(image=b"\xfb\xff", image_mime="image/png"))
    assert custom == {"customized_avatar": {"image_mime_type": "image/png", "image_data": "-_8="}}
    assert "bytes" in repr(NativeAvatar(image=b"secret", image_mime="image/png"))
    assert "secret" not in repr(NativeAvatar(image=b"secret", image_mime="image/png"))
    with pytest.raises(ValueError, match="prebuilt name or a reference image"):
        NativeAvatar()
