"""Tiny but well-formed MP4 and WebM files, built by hand for the clip checks.

They carry just the headers a player and our parser read first (`ftyp` + `moov/mvhd`, or
the EBML header + `Segment/Info`), so tests can state a duration without a media encoder.
"""

from __future__ import annotations

import struct


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4_bytes(duration_s: float, *, timescale: int = 1000, version: int = 0) -> bytes:
    """An MP4 of `duration_s` seconds as its movie header states it."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    units = round(duration_s * timescale)
    if version == 0:
        times = struct.pack(">IIII", 0, 0, timescale, units)
    else:
        times = struct.pack(">QQIQ", 0, 0, timescale, units)
    rest = struct.pack(">IH", 0x00010000, 0x0100) + b"\x00" * 10 + b"\x00" * 36 + b"\x00" * 24
    mvhd = _box(b"mvhd", bytes([version, 0, 0, 0]) + times + rest + struct.pack(">I", 2))
    free = _box(b"free", b"\x00" * 16)
    return ftyp + free + _box(b"moov", mvhd)


def _vsize(size: int) -> bytes:
    # Always the 8-byte form: valid EBML, and simple.
    return bytes([0x01]) + size.to_bytes(7, "big")


def _el(element_id: int, body: bytes) -> bytes:
    id_bytes = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    return id_bytes + _vsize(len(body)) + body


def webm_bytes(
    duration_s: float | None,
    *,
    doctype: str = "webm",
    scale_ns: int = 1_000_000,
    float_size: int = 8,
    unknown_segment_size: bool = False,
) -> bytes:
    """A WebM (EBML DocType `doctype`) whose segment Info states `duration_s` (None: no
    Duration element, as a live recorder writes)."""
    header = _el(
        0x1A45DFA3,
        _el(0x4286, b"\x01") + _el(0x4282, doctype.encode()) + _el(0x4287, b"\x04"),
    )
    info = _el(0x2AD7B1, scale_ns.to_bytes(4, "big"))
    if duration_s is not None:
        ticks = duration_s * 1e9 / scale_ns
        info += _el(0x4489, struct.pack(">d" if float_size == 8 else ">f", ticks))
    info += _el(0x4D80, b"liveavatar-tests")
    body = _el(0x1549A966, info) + _el(0x1654AE6B, b"")
    if unknown_segment_size:
        return header + bytes([0x18, 0x53, 0x80, 0x67, 0x01]) + b"\xff" * 7 + body
    return header + _el(0x18538067, body)
