"""The avatar's media: fMP4 boxes, the encoder's stream decoded, the mouth following speech."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from liveavatar.emulator.avatar_encoder import FRAME_BYTES, FRAME_TICKS, AvatarEncoder, opening_for
from liveavatar.emulator.face import Face
from liveavatar.emulator.fmp4 import Run, Sample, codecs, fragment, length_prefixed, split_annexb
from liveavatar.live.avatar import PREBUILT_AVATARS
from tests.support.avatar_stream import decode, top_boxes

RATE = 24_000


def tone(frames: int, amplitude: float) -> bytes:
    t = np.arange(frames * FRAME_TICKS) / RATE
    return (np.sin(2 * np.pi * 180 * t) * amplitude * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def encoder() -> AvatarEncoder:
    return AvatarEncoder(Face(name="Vera"))


def test_codecs_are_what_chromium_is_asked_for(encoder: AvatarEncoder) -> None:
    # Baseline with constraint sets 0 and 1, level 3.2: the service's default (§14.3).
    assert codecs(encoder.format) == "avc1.42C020, mp4a.40.2"
    assert top_boxes(encoder.init_segment()) == [b"ftyp", b"moov"]


def test_mouth_opens_with_loud_speech_and_closes_in_silence() -> None:
    encoder = AvatarEncoder(Face(name="Kai"))
    encoder.begin(0)
    quiet, loud = bytes(12 * FRAME_BYTES), tone(12, 0.5)
    stream = encoder.init_segment()
    for pcm, last in ((quiet, False), (loud, False), (quiet, True)):
        stream += encoder.encode(pcm, last=last)
    got = decode(stream)
    assert len(got.lumas) == 36
    mouth = [y[296:392, 146:214].astype(np.float32) for y in got.lumas]
    closed = mouth[0]
    # Compression blurs a little; an opened mouth changes the region by far more.
    assert all(float(np.abs(m - closed).mean()) < 3 for m in mouth[1:12])
    assert all(float(np.abs(m - closed).mean()) > 10 for m in mouth[14:24])
    assert float(np.abs(mouth[35] - closed).mean()) < 3, "closed again after the speech"


def test_opening_follows_loudness() -> None:
    levels = [opening_for(np.frombuffer(tone(1, a), dtype="<i2")) for a in (0.0, 0.01, 0.05, 0.5)]
    assert levels[0] == 0.0
    assert levels == sorted(levels)
    assert levels[-1] == 1.0


def test_segments_keep_their_frames_and_jump_over_gaps(encoder: AvatarEncoder) -> None:
    stream = encoder.init_segment()
    encoder.begin(encoder.next_frame)
    stream += encoder.encode(tone(12, 0.3), last=False)
    stream += encoder.encode(tone(5, 0.3)[:-100], last=True)  # padded to the frame
    first_end = encoder.next_frame
    encoder.begin(first_end + 48)
    stream += encoder.encode(tone(7, 0.3), last=True)
    with pytest.raises(ValueError, match="overlap"):
        encoder.begin(encoder.next_frame - 1)
    got = decode(stream)
    tick = got.ticks_per_frame(24)
    assert len(got.lumas) == 12 + 5 + 7
    assert got.frame_steps().count(tick) == len(got.lumas) - 2
    assert got.frame_pts[17] - got.frame_pts[16] == 49 * tick
    # The audio covers the video: both segments' speech, decoded without a hole.
    voiced = np.abs(got.samples) > 0.05
    assert voiced.sum() / RATE == pytest.approx((12 + 5 + 7) / 24, abs=0.15)


def test_bitrates_asked_for_are_kept_within_range() -> None:
    encoder = AvatarEncoder(Face(name="Leo"), audio_bps=1, video_bps=10**12)
    encoder.begin(0)
    data = encoder.init_segment() + encoder.encode(tone(12, 0.3), last=True)
    assert encoder.format.avg_bitrate == 16_000
    assert len(decode(data).lumas) == 12


def test_encode_takes_whole_frames_unless_last(encoder: AvatarEncoder) -> None:
    encoder.begin(encoder.next_frame + 3)
    with pytest.raises(ValueError, match="whole video frames"):
        encoder.encode(bytes(FRAME_BYTES + 2), last=False)


def test_fragment_offsets_point_at_each_tracks_data() -> None:
    runs = [
        Run(1, 5000, [Sample(b"V1" * 10, 1000), Sample(b"V2" * 3, 1000, sync=False)]),
        Run(2, 4000, [Sample(b"A" * 7, 1024)]),
    ]
    data = fragment(7, runs)
    assert top_boxes(data) == [b"moof", b"mdat"]
    offsets = [
        struct.unpack_from(">i", data, i + 12)[0]  # after the kind, flags and count
        for i in range(len(data) - 4)
        if data[i : i + 4] == b"trun"
    ]
    assert [data[o : o + 2] for o in offsets] == [b"V1", b"AA"]
    assert struct.unpack_from(">I", data, data.index(b"mfhd") + 8)[0] == 7


def test_annexb_units_become_length_prefixed() -> None:
    stream = b"\x00\x00\x00\x01\x67\x42\x00\x00\x01\x68\xce\x00\x00\x01\x65\x88\x80"
    assert split_annexb(stream) == [b"\x67\x42", b"\x68\xce", b"\x65\x88\x80"]
    assert length_prefixed(stream) == (
        b"\x00\x00\x00\x02\x67\x42\x00\x00\x00\x02\x68\xce\x00\x00\x00\x03\x65\x88\x80"
    )


def test_every_prebuilt_avatar_is_drawn_differently() -> None:
    bases = {Face(name=n).frame(0.0).tobytes() for n in PREBUILT_AVATARS}
    assert len(bases) == len(PREBUILT_AVATARS) == 11
