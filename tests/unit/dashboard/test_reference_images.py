"""The Media page's reference image check: Live's rules, and a name and type that agree."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from liveavatar.dashboard.reference_images import ReferenceImageError, check_upload


def image(fmt: str, size: tuple[int, int] = (720, 1280)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, format=fmt)
    return out.getvalue()


def test_a_good_image_gets_a_safe_name() -> None:
    got = check_upload("../My face!.PNG", "image/png", image("PNG"))
    assert (got.name, got.content_type) == ("avatar-images/My-face.png", "image/png")
    assert check_upload("a.jpeg", None, image("JPEG")).content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("name", "declared", "data", "why"),
    [
        ("a.webp", "image/webp", image("WEBP"), "only .png, .jpg and .jpeg"),
        ("a.png", "image/png", image("JPEG"), "content is image/jpeg"),
        ("a.jpg", "image/png", image("JPEG"), "name or type says image/png"),
        ("a.png", "image/png", image("PNG", (1280, 720)), "not portrait 9:16"),
        ("a.png", "image/png", image("PNG", (450, 800)), "below the minimum"),
    ],
)
def test_a_bad_image_is_refused_with_a_reason(
    name: str, declared: str, data: bytes, why: str
) -> None:
    with pytest.raises(ReferenceImageError, match=why):
        check_upload(name, declared, data)
