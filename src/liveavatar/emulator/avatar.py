"""Live-avatar setups (reference §14): which are refused, how, and the avatar they ask for.

Refusals follow the reference where it knows them: `VIDEO` without `avatarConfig` closes
1007 "Avatar config is required for avatar mode"; `VIDEO` beside another modality closes
1007 with the service's "combination of response modalities" reason; a WebP or landscape
reference image closes 1011; a reference image the safety filter blocks closes 1008
*after* `setupComplete`. The rest is the emulator's choice, documented in docs/EMULATOR.md:
avatars only on Vertex routes and avatar-capable models (else the modality reason), an
unknown avatar name or both a name and an image close 1007, every reference image that is
not a PNG or JPEG 9:16 portrait of at least 704×1280 closes 1011, and an image that is
mostly pure red stands for one the safety filter blocks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from liveavatar.live.avatar import PREBUILT_AVATARS

from .errors import (
    INTERNAL,
    INVALID_ARGUMENT,
    REASON_INTERNAL,
    REASON_INVALID_ARGUMENT,
    LiveCloseError,
)
from .face import fit_portrait
from .models import ModelRules
from .routing import Route
from .wire import Setup

REASON_AVATAR_REQUIRED = "Avatar config is required for avatar mode"
REASON_BLOCKED = "policy violation: Avatar reference image was blocked by safety policy"
MIN_WIDTH, MIN_HEIGHT = 704, 1280
MAX_SIDE = 4096
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG"}
_NAMES = {n.lower(): n for n in PREBUILT_AVATARS}
# The safety-block marker: this share of the image's pixels pure red (a JPEG's red stays
# within the tolerance).
_RED_SHARE = 0.5


def modalities_reason(modalities: set[str]) -> str:
    names = ", ".join(sorted(modalities))
    return (
        f"The requested combination of response modalities ({names}) is not supported by the model."
    )


@dataclass(frozen=True)
class AvatarRequest:
    """What a setup's `avatarConfig` asks for, before its image (if any) is looked at."""

    name: str | None
    image: bytes | None
    mime_type: str
    audio_bps: int | None
    video_bps: int | None


@dataclass(frozen=True)
class Avatar:
    """An accepted avatar: a prebuilt name or a reference image fitted to the output."""

    name: str | None
    photo: Image.Image | None
    blocked: bool  # the safety filter refuses it once the avatar would start to animate
    audio_bps: int | None
    video_bps: int | None


def avatar_request(
    setup: Setup, modalities: set[str], rules: ModelRules, route: Route
) -> AvatarRequest | None:
    """The avatar a `VIDEO` setup asks for (None without `VIDEO`).

    Raises:
        LiveCloseError: 1007 for the refusals of the module docstring.
    """
    if "VIDEO" not in modalities:
        return None
    if len(modalities) > 1 or route.flavor != "vertex" or not rules.avatar:
        raise LiveCloseError(INVALID_ARGUMENT, modalities_reason(modalities))
    cfg = setup.avatar_config
    custom = cfg.customized_avatar if cfg else None
    if cfg is None or (not cfg.avatar_name and custom is None):
        raise LiveCloseError(INVALID_ARGUMENT, REASON_AVATAR_REQUIRED)
    if cfg.avatar_name and custom is not None:
        raise LiveCloseError(INVALID_ARGUMENT, REASON_INVALID_ARGUMENT)
    if cfg.avatar_name:
        name = _NAMES.get(cfg.avatar_name.strip().lower())
        if name is None:
            raise LiveCloseError(INVALID_ARGUMENT, REASON_INVALID_ARGUMENT)
        return AvatarRequest(name, None, "", cfg.audio_bitrate_bps, cfg.video_bitrate_bps)
    assert custom is not None
    image = custom.decoded()
    mime = custom.image_mime_type.lower().strip()
    return AvatarRequest(None, image, mime, cfg.audio_bitrate_bps, cfg.video_bitrate_bps)


def load_avatar(request: AvatarRequest) -> Avatar:
    """Check a reference image as the service would and fit it (blocking: call it off the
    event loop).

    Raises:
        LiveCloseError: 1011 for an image the service cannot use.
    """
    photo: Image.Image | None = None
    blocked = False
    if request.image is not None:
        photo, blocked = _reference_image(request.image, request.mime_type)
    return Avatar(request.name, photo, blocked, request.audio_bps, request.video_bps)


def _reference_image(data: bytes, mime_type: str) -> tuple[Image.Image, bool]:
    fmt = _FORMATS.get(mime_type)
    refused = LiveCloseError(INTERNAL, REASON_INTERNAL)
    if fmt is None:
        raise refused
    try:
        img = Image.open(io.BytesIO(data))
        if img.format != fmt or max(img.size) > MAX_SIDE:
            raise refused
        width, height = img.size
        # Portrait near 9:16: the documented minimum itself, 704×1280, is 11:20.
        near_9_16 = abs(width * 16 - height * 9) <= height * 9 // 10
        if width < MIN_WIDTH or height < MIN_HEIGHT or not near_9_16:
            raise refused
        img.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise refused from exc
    return fit_portrait(img), _mostly_red(img)


def _mostly_red(img: Image.Image) -> bool:
    small = np.asarray(img.convert("RGB").resize((36, 64)), dtype=np.int16)
    red = (small[..., 0] >= 200) & (small[..., 1] <= 40) & (small[..., 2] <= 40)
    return float(red.mean()) >= _RED_SHARE
