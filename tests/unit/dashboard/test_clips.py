from __future__ import annotations

import pytest

from liveavatar.dashboard.clips import (
    MAX_CLIP_SECONDS,
    ClipRejected,
    check_clip,
    clip_object_name,
)
from tests.support.videos import mp4_bytes, webm_bytes


def test_good_mp4_and_webm_are_accepted() -> None:
    clip = check_clip("idle.mp4", "video/mp4", mp4_bytes(3.0))
    assert (clip.kind, clip.content_type, clip.duration_s) == ("mp4", "video/mp4", 3.0)
    clip = check_clip("Talk.WEBM", "video/webm", webm_bytes(2.0))
    assert (clip.kind, clip.content_type) == ("webm", "video/webm")
    assert clip.duration_s == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("name", "declared", "data", "message"),
    [
        ("a.mov", "video/quicktime", mp4_bytes(1.0), "only .mp4 and .webm"),
        ("a.mp4", "video/webm", mp4_bytes(1.0), "declared as video/webm"),
        ("a.mp4", None, mp4_bytes(1.0), "declared as no type"),
        ("a.mp4", "video/mp4", webm_bytes(1.0), "content is webm"),
        ("a.webm", "video/webm", b"GIF89a" + b"\x00" * 64, "neither MP4 nor WebM"),
        ("a.webm", "video/webm", webm_bytes(1.0, doctype="matroska"), "neither MP4 nor WebM"),
        ("a.mp4", "video/mp4", mp4_bytes(MAX_CLIP_SECONDS + 1), "longer than"),
        ("a.mp4", "video/mp4", mp4_bytes(0.0), "too short"),
        ("a.webm", "video/webm", webm_bytes(None), "does not state its duration"),
        ("a.mp4", "video/mp4", b"", "empty"),
    ],
)
def test_bad_clips_are_refused_with_a_reason(
    name: str, declared: str | None, data: bytes, message: str
) -> None:
    with pytest.raises(ClipRejected, match=message):
        check_clip(name, declared, data)


def test_size_limit_is_checked_first() -> None:
    with pytest.raises(ClipRejected, match="over the"):
        check_clip("a.mp4", "video/mp4", mp4_bytes(1.0), max_bytes=16)


def test_declared_type_parameters_are_ignored() -> None:
    assert check_clip("a.webm", "Video/WebM; codecs=vp9", webm_bytes(1.0)).kind == "webm"


def test_object_names_are_safe_and_under_the_category() -> None:
    assert clip_object_name("idle", "My Clip (1).MP4") == "idle/My-Clip-1.mp4"
    assert clip_object_name("talking", "../../etc/x.webm") == "talking/x.webm"
    assert clip_object_name("expressive", "...webm") == "expressive/clip.webm"
    with pytest.raises(ClipRejected, match="category"):
        clip_object_name("secret", "a.mp4")
