"""Which live-avatar setups are accepted, and how the others are refused (reference §14)."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from liveavatar.emulator.avatar import (
    REASON_AVATAR_REQUIRED,
    AvatarRequest,
    avatar_request,
    load_avatar,
)
from liveavatar.emulator.errors import LiveCloseError
from liveavatar.emulator.models import MODELS
from liveavatar.emulator.routing import Route
from liveavatar.emulator.wire import Setup

VERTEX = Route("vertex", "v1beta1", False)
GEMINI = Route("gemini", "v1beta", False)


def setup(avatar: dict[str, Any] | None, *modalities: str) -> Setup:
    body: dict[str, Any] = {"generation_config": {"response_modalities": list(modalities)}}
    if avatar is not None:
        body["avatar_config"] = avatar
    return Setup.model_validate(body)


def request(
    avatar: dict[str, Any] | None,
    *modalities: str,
    model: str = "gemini-3.8-live",
    route: Route = VERTEX,
) -> AvatarRequest | None:
    return avatar_request(setup(avatar, *modalities), set(modalities), MODELS[model], route)


def refused(*args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(LiveCloseError) as info:
        request(*args, **kwargs)
    return info.value.code, info.value.reason


def picture(size: tuple[int, int], fmt: str, colour: tuple[int, int, int] = (80, 90, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def custom(data: bytes, mime: str) -> AvatarRequest:
    got = request(
        {"customizedAvatar": {"imageMimeType": mime, "imageData": base64.b64encode(data).decode()}},
        "VIDEO",
    )
    assert got is not None
    return got


def test_prebuilt_names_in_any_case_and_spelling() -> None:
    got = request({"avatar_name": "kIRA", "video_bitrate_bps": 500_000}, "VIDEO")
    assert got is not None
    assert (got.name, got.video_bps, got.image) == ("Kira", 500_000, None)
    assert request({"avatarName": "Carmen"}, "VIDEO") is not None


def test_without_video_the_avatar_config_is_ignored() -> None:
    assert request({"avatarName": "Kira"}, "AUDIO") is None


@pytest.mark.parametrize(
    ("avatar", "modalities", "kwargs", "reason"),
    [
        (None, ("VIDEO",), {}, REASON_AVATAR_REQUIRED),
        ({}, ("VIDEO",), {}, REASON_AVATAR_REQUIRED),
        ({"avatarName": "Kira"}, ("AUDIO", "VIDEO"), {}, "(AUDIO, VIDEO) is not supported"),
        ({"avatarName": "Kira"}, ("TEXT", "VIDEO"), {}, "(TEXT, VIDEO) is not supported"),
        ({"avatarName": "Kira"}, ("VIDEO",), {"route": GEMINI}, "(VIDEO) is not supported"),
        (
            {"avatarName": "Kira"},
            ("VIDEO",),
            {"model": "gemini-live-2.5-flash-native-audio"},
            "(VIDEO) is not supported",
        ),
        ({"avatarName": "Zed"}, ("VIDEO",), {}, "invalid argument"),
        (
            {"avatarName": "Kira", "customizedAvatar": {"imageMimeType": "image/png"}},
            ("VIDEO",),
            {},
            "invalid argument",
        ),
    ],
)
def test_refusals_are_1007(
    avatar: dict[str, Any] | None, modalities: tuple[str, ...], kwargs: Any, reason: str
) -> None:
    code, text = refused(avatar, *modalities, **kwargs)
    assert code == 1007
    assert reason.lower() in text.lower()


@pytest.mark.parametrize(
    ("size", "fmt", "mime"),
    [((704, 1280), "PNG", "image/png"), ((720, 1280), "JPEG", "image/jpeg")],
)
def test_portrait_png_or_jpeg_is_taken(size: tuple[int, int], fmt: str, mime: str) -> None:
    avatar = load_avatar(custom(picture(size, fmt), mime))
    assert avatar.photo is not None
    assert avatar.photo.size == (360, 640)
    assert not avatar.blocked


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (picture((720, 1280), "WEBP"), "image/webp"),
        (picture((720, 1280), "WEBP"), "image/png"),  # not what it says it is
        (picture((1280, 720), "PNG"), "image/png"),
        (picture((700, 1280), "PNG"), "image/png"),
        (picture((1080, 1080), "JPEG"), "image/jpeg"),
        (b"not an image", "image/png"),
    ],
    ids=["webp", "mislabelled", "landscape", "too-narrow", "square", "garbage"],
)
def test_unusable_reference_images_are_1011(data: bytes, mime: str) -> None:
    with pytest.raises(LiveCloseError) as info:
        load_avatar(custom(data, mime))
    assert info.value.code == 1011


def test_a_mostly_red_image_stands_for_one_the_safety_filter_blocks() -> None:
    assert load_avatar(custom(picture((720, 1280), "JPEG", (255, 0, 0)), "image/jpeg")).blocked
    half = Image.new("RGB", (720, 1280), (255, 0, 0))
    half.paste((20, 20, 20), (0, 0, 720, 700))
    buf = io.BytesIO()
    half.save(buf, "PNG")
    assert not load_avatar(custom(buf.getvalue(), "image/png")).blocked
