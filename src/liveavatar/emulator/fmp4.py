"""Fragmented MP4 (ISO BMFF) boxes for the avatar stream: one init segment, then fragments.

Written by hand rather than through FFmpeg's mp4 muxer because the emulator must decide
where each fragment ends (every half second, at a turn's end, never later) and which
decode time it starts at (timestamps jump over the gaps between turns), and FFmpeg's
muxer only closes a fragment when the next one begins. Both tracks share one timescale.
The layout is what Media Source Extensions and FFmpeg's demuxer read: `ftyp` + `moov`
(with `mvex`), then `moof` (`tfhd` default-base-is-moof, `tfdt`, `trun`) + `mdat`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VIDEO_TRACK = 1
AUDIO_TRACK = 2
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_LANG_UND = 0x55C4  # "und", packed ISO-639-2
# sample_depends_on=2 (an I-frame / any audio frame); the other: depends on others, non-sync
_SYNC = 0x02000000
_NON_SYNC = 0x01010000


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True)
class Sample:
    data: bytes
    duration: int  # in the shared timescale
    sync: bool = True


@dataclass(frozen=True)
class Run:
    """One track's samples in one fragment, the first decoded at `start`."""

    track_id: int
    start: int
    samples: list[Sample]


@dataclass(frozen=True)
class StreamFormat:
    """What the init segment declares."""

    width: int
    height: int
    timescale: int
    sps: bytes
    pps: bytes
    sample_rate: int
    channels: int
    audio_config: bytes  # AAC AudioSpecificConfig
    avg_bitrate: int = 64_000


def codecs(fmt: StreamFormat) -> str:
    """The RFC 6381 codecs string a player would pass to `addSourceBuffer`."""
    return f"avc1.{fmt.sps[1:4].hex().upper()}, mp4a.40.{fmt.audio_config[0] >> 3}"


def init_segment(fmt: StreamFormat) -> bytes:
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso5iso6avc1mp41")
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, 1000, 0),
        struct.pack(">IH10x", 0x10000, 0x100),
        _MATRIX,
        bytes(24),
        struct.pack(">I", AUDIO_TRACK + 1),
    )
    mvex = box(
        b"mvex",
        *(full_box(b"trex", 0, 0, struct.pack(">5I", t, 1, 0, 0, 0)) for t in _TRACKS),
    )
    return ftyp + box(b"moov", mvhd, _video_trak(fmt), _audio_trak(fmt), mvex)


_TRACKS = (VIDEO_TRACK, AUDIO_TRACK)


def _trak(
    track_id: int, fmt: StreamFormat, handler: bytes, media_header: bytes, entry: bytes
) -> bytes:
    video = handler == b"vide"
    tkhd = full_box(
        b"tkhd",
        0,
        0x3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, track_id, 0, 0),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0 if video else 0x100, 0),
        _MATRIX,
        struct.pack(">II", (fmt.width << 16) if video else 0, (fmt.height << 16) if video else 0),
    )
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, fmt.timescale, 0, _LANG_UND, 0))
    name = b"VideoHandler\0" if video else b"SoundHandler\0"
    hdlr = full_box(b"hdlr", 0, 0, bytes(4), handler, bytes(12), name)
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    empty = struct.pack(">I", 0)
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry),
        full_box(b"stts", 0, 0, empty),
        full_box(b"stsc", 0, 0, empty),
        full_box(b"stsz", 0, 0, empty, empty),
        full_box(b"stco", 0, 0, empty),
    )
    minf = box(b"minf", media_header, dinf, stbl)
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, minf))


def _video_trak(fmt: StreamFormat) -> bytes:
    sps, pps = fmt.sps, fmt.pps
    avcc = box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
    )
    entry = box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),
        bytes(16),
        struct.pack(">HHII", fmt.width, fmt.height, 0x480000, 0x480000),
        bytes(4),
        struct.pack(">H", 1),
        bytes(32),
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )
    vmhd = full_box(b"vmhd", 0, 1, bytes(8))
    return _trak(VIDEO_TRACK, fmt, b"vide", vmhd, entry)


def _descriptor(tag: int, *payload: bytes) -> bytes:
    body = b"".join(payload)
    if len(body) >= 128:
        raise ValueError("descriptor too long for a one-byte length")
    return bytes([tag, len(body)]) + body


def _audio_trak(fmt: StreamFormat) -> bytes:
    decoder_config = _descriptor(
        0x04,
        bytes([0x40, 0x15]),  # MPEG-4 audio, audio stream
        struct.pack(">I", 0)[1:],  # buffer size
        struct.pack(">II", fmt.avg_bitrate, fmt.avg_bitrate),
        _descriptor(0x05, fmt.audio_config),
    )
    es = _descriptor(0x03, struct.pack(">HB", 0, 0), decoder_config, _descriptor(0x06, b"\x02"))
    entry = box(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),
        bytes(8),
        struct.pack(">HHHH", fmt.channels, 16, 0, 0),
        struct.pack(">I", fmt.sample_rate << 16),
        full_box(b"esds", 0, 0, es),
    )
    smhd = full_box(b"smhd", 0, 0, bytes(4))
    return _trak(AUDIO_TRACK, fmt, b"soun", smhd, entry)


def fragment(sequence: int, runs: list[Run]) -> bytes:
    """`moof` + `mdat` holding `runs` (empty runs left out), each track's data in turn."""
    runs = [r for r in runs if r.samples]
    # Every box has a fixed size, so the data offsets are known before writing.
    moof_size = 8 + 16 + sum(8 + 16 + 20 + 20 + 12 * len(r.samples) for r in runs)
    offset = moof_size + 8
    trafs: list[bytes] = []
    for run in runs:
        entries = b"".join(
            struct.pack(">III", s.duration, len(s.data), _SYNC if s.sync else _NON_SYNC)
            for s in run.samples
        )
        trun = full_box(b"trun", 0, 0x701, struct.pack(">Ii", len(run.samples), offset), entries)
        trafs.append(
            box(
                b"traf",
                full_box(b"tfhd", 0, 0x020000, struct.pack(">I", run.track_id)),
                full_box(b"tfdt", 1, 0, struct.pack(">Q", run.start)),
                trun,
            )
        )
        offset += sum(len(s.data) for s in run.samples)
    moof = box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), *trafs)
    assert len(moof) == moof_size
    return moof + box(b"mdat", *(s.data for r in runs for s in r.samples))


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes of three or four bytes)."""
    units: list[bytes] = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        start = i + 3
        nxt = data.find(b"\x00\x00\x01", start)
        end = len(data) if nxt < 0 else nxt
        unit = data[start:end]
        if nxt >= 0 and unit.endswith(b"\x00"):
            unit = unit[:-1]  # the leading zero of a four-byte start code
        if unit:
            units.append(unit)
        i = nxt
    return units


def length_prefixed(data: bytes) -> bytes:
    """An encoder's Annex B access unit as MP4 stores it: each NAL unit after its length."""
    return b"".join(struct.pack(">I", len(u)) + u for u in split_annexb(data))
