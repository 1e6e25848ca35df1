"""The emulated avatar's picture: a drawn face (or the client's reference image) whose mouth
opens with its own speech, as YUV 4:2:0 frames ready for the H.264 encoder.

Every mouth opening (a few levels) and closed eyes are drawn once per session with Pillow
and kept as horizontal bands of the converted frame, so a frame is a copy of the base
picture with at most two bands pasted in: far cheaper than drawing and converting each
frame, which matters on a small machine at 24 frames a second.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from liveavatar.live.avatar import PREBUILT_AVATARS

WIDTH, HEIGHT = 360, 640
"""Portrait 9:16, small enough to encode in a few ms a frame (docs/EMULATOR.md)."""

MOUTH_LEVELS = 12
_CX = WIDTH // 2
_MOUTH_Y = 336  # drawn face: where the lips meet
_MOUTH_BAND = (296, 392)  # rows holding every mouth opening (even, for the chroma planes)
_EYE_BAND = (226, 266)
_PHOTO_MOUTH_Y = 282  # a portrait's mouth usually sits about here (44 % down)

Rgb = tuple[int, int, int]
Plane = npt.NDArray[np.uint8]

_SKINS: tuple[Rgb, ...] = (
    (241, 204, 170),
    (224, 172, 130),
    (198, 140, 100),
    (160, 106, 70),
    (118, 78, 52),
    (250, 215, 190),
)
_HAIRS: tuple[Rgb, ...] = (
    (40, 28, 20),
    (90, 56, 30),
    (200, 160, 90),
    (20, 20, 24),
    (150, 60, 30),
    (120, 120, 128),
)


@dataclass(frozen=True)
class Look:
    skin: Rgb
    hair: Rgb
    shirt: Rgb
    background: Rgb
    iris: Rgb
    long_hair: bool


def _hue(index: int, sat: float, val: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb((index / len(PREBUILT_AVATARS)) % 1.0, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255))


def look_for(name: str) -> Look:
    """The drawn look of a prebuilt avatar (`name` as in PREBUILT_AVATARS): each has its own
    colours, so that a test or a person can tell them apart."""
    i = PREBUILT_AVATARS.index(name)
    return Look(
        skin=_SKINS[i % len(_SKINS)],
        hair=_HAIRS[(i * 5) % len(_HAIRS)],
        shirt=_hue(i + 3, 0.55, 0.6),
        background=_hue(i, 0.25, 0.92),
        iris=_hue(i + 6, 0.6, 0.45),
        long_hair=i % 2 == 1,
    )


def _gradient(top: Rgb) -> Image.Image:
    rows = np.linspace(1.0, 0.7, HEIGHT, dtype=np.float32)[:, None, None]
    rgb = (np.array(top, dtype=np.float32)[None, None, :] * rows).astype(np.uint8)
    return Image.fromarray(np.repeat(rgb, WIDTH, axis=1), "RGB")


def _shade(c: Rgb, f: float) -> Rgb:
    return (int(c[0] * f), int(c[1] * f), int(c[2] * f))


def _draw_face(look: Look) -> Image.Image:
    img = _gradient(look.background)
    d = ImageDraw.Draw(img)
    d.ellipse((10, 500, 350, 820), fill=look.shirt)
    d.rectangle((150, 370, 210, 520), fill=_shade(look.skin, 0.85))
    if look.long_hair:
        d.rounded_rectangle((78, 120, 282, 470), radius=90, fill=look.hair)
    d.ellipse((84, 238, 106, 292), fill=_shade(look.skin, 0.9))
    d.ellipse((254, 238, 276, 292), fill=_shade(look.skin, 0.9))
    d.ellipse((95, 130, 265, 395), fill=look.skin)
    d.pieslice((90, 108, 270, 268), 180, 360, fill=look.hair)
    for x in (148, 212):
        d.line((x - 20, 222, x + 18, 217), fill=look.hair, width=5)
        d.ellipse((x - 18, 236, x + 18, 256), fill=(250, 250, 250))
        d.ellipse((x - 8, 238, x + 8, 254), fill=look.iris)
        d.ellipse((x - 4, 242, x + 4, 250), fill=(10, 10, 10))
    d.line((_CX, 262, _CX - 9, 302, _CX + 6, 304), fill=_shade(look.skin, 0.75), width=3)
    return img


def _draw_mouth(img: Image.Image, cy: int, opening: float, lip: Rgb) -> None:
    d = ImageDraw.Draw(img)
    h = round(44 * opening)
    if h < 3:
        d.line((_CX - 28, cy, _CX + 28, cy), fill=lip, width=4)
        return
    d.ellipse((_CX - 32, cy - h // 2 - 5, _CX + 32, cy + h // 2 + 5), fill=lip)
    d.ellipse((_CX - 27, cy - h // 2, _CX + 27, cy + h // 2), fill=(58, 16, 26))
    if h > 12:
        d.rectangle((_CX - 18, cy - h // 2 + 1, _CX + 18, cy - h // 2 + 6), fill=(240, 240, 235))


def _close_eyes(img: Image.Image, skin: Rgb) -> None:
    d = ImageDraw.Draw(img)
    for x in (148, 212):
        d.ellipse((x - 20, 233, x + 20, 259), fill=skin)
        d.line((x - 18, 248, x + 18, 248), fill=_shade(skin, 0.45), width=3)


def to_yuv420(img: Image.Image) -> Plane:
    """An RGB picture as one flat planar YUV 4:2:0 buffer (Y, then U, then V)."""
    rgb = av.VideoFrame.from_ndarray(np.asarray(img.convert("RGB")), format="rgb24")
    frame = rgb.reformat(format="yuv420p")
    return np.ascontiguousarray(frame.to_ndarray(), dtype=np.uint8).reshape(-1)


def _bands(yuv: Plane, rows: tuple[int, int]) -> tuple[Plane, Plane, Plane]:
    y0, y1 = rows
    luma, chroma = WIDTH * HEIGHT, (WIDTH // 2) * (HEIGHT // 2)
    u0 = luma + (y0 // 2) * (WIDTH // 2)
    v0 = u0 + chroma
    n = (y1 - y0) // 2 * (WIDTH // 2)
    return (
        yuv[y0 * WIDTH : y1 * WIDTH].copy(),
        yuv[u0 : u0 + n].copy(),
        yuv[v0 : v0 + n].copy(),
    )


def _paste(frame: Plane, rows: tuple[int, int], bands: tuple[Plane, Plane, Plane]) -> None:
    y0, y1 = rows
    luma, chroma = WIDTH * HEIGHT, (WIDTH // 2) * (HEIGHT // 2)
    u0 = luma + (y0 // 2) * (WIDTH // 2)
    frame[y0 * WIDTH : y1 * WIDTH] = bands[0]
    frame[u0 : u0 + len(bands[1])] = bands[1]
    frame[u0 + chroma : u0 + chroma + len(bands[2])] = bands[2]


def fit_portrait(image: Image.Image) -> Image.Image:
    """A reference image scaled and centre-cropped to the output size."""
    src = image.convert("RGB")
    scale = max(WIDTH / src.width, HEIGHT / src.height)
    size = (max(WIDTH, round(src.width * scale)), max(HEIGHT, round(src.height * scale)))
    src = src.resize(size, Image.Resampling.BILINEAR)
    left, top = (src.width - WIDTH) // 2, (src.height - HEIGHT) // 2
    return src.crop((left, top, left + WIDTH, top + HEIGHT))


class Face:
    """The frames of one avatar; `frame(opening, eyes_closed)` is cheap, building is not
    (about a dozen Pillow drawings): build it off the event loop."""

    def __init__(self, *, name: str | None = None, photo: Image.Image | None = None) -> None:
        if photo is not None:
            base_img, mouth_y, lip = fit_portrait(photo), _PHOTO_MOUTH_Y, (170, 60, 70)
            skin: Rgb | None = None
        else:
            look = look_for(name or PREBUILT_AVATARS[0])
            base_img, mouth_y, lip, skin = _draw_face(look), _MOUTH_Y, (176, 72, 80), look.skin
        shift = mouth_y - _MOUTH_Y
        self._mouth_rows = (_MOUTH_BAND[0] + shift, _MOUTH_BAND[1] + shift)
        self._mouths: list[tuple[Plane, Plane, Plane]] = []
        for level in range(MOUTH_LEVELS):
            img = base_img.copy()
            _draw_mouth(img, mouth_y, level / (MOUTH_LEVELS - 1), lip)
            self._mouths.append(_bands(to_yuv420(img), self._mouth_rows))
        self._base = to_yuv420(base_img)
        _paste(self._base, self._mouth_rows, self._mouths[0])
        self._eyes_closed: tuple[Plane, Plane, Plane] | None = None
        if skin is not None:
            img = base_img.copy()
            _close_eyes(img, skin)
            self._eyes_closed = _bands(to_yuv420(img), _EYE_BAND)

    def frame(self, opening: float, eyes_closed: bool = False) -> Plane:
        """A (HEIGHT * 3 / 2, WIDTH) yuv420p picture with the mouth `opening` (0 to 1)."""
        out = self._base.copy()
        level = min(MOUTH_LEVELS - 1, max(0, round(opening * (MOUTH_LEVELS - 1))))
        if level:
            _paste(out, self._mouth_rows, self._mouths[level])
        if eyes_closed and self._eyes_closed is not None:
            _paste(out, _EYE_BAND, self._eyes_closed)
        return out.reshape(HEIGHT * 3 // 2, WIDTH)

    def mouth_region(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) of the luma area the mouth may cover, for checks."""
        return (self._mouth_rows[0], self._mouth_rows[1], _CX - 34, _CX + 34)
