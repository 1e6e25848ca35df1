"""Reading a video file's duration from its container header, without a media library.

Only what the clip checks need: the movie header (`mvhd`) of an ISO base media file (MP4)
and the segment `Info` of a Matroska/WebM file. Both parsers walk bounded structures of
the given bytes and raise `ContainerError` instead of guessing when something does not add
up, so a truncated or forged file is refused rather than misread.
"""

from __future__ import annotations

import struct

# Deeper than any real file nests the elements read here; it bounds a forged file's cost.
_MAX_DEPTH = 8
_MP4_CONTAINERS = frozenset({b"moov"})
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE = 0x4282
_MKV_SEGMENT = 0x18538067
_MKV_INFO = 0x1549A966
_MKV_TIMESTAMP_SCALE = 0x2AD7B1
_MKV_DURATION = 0x4489
_MKV_DEFAULT_SCALE_NS = 1_000_000


class ContainerError(ValueError):
    """The bytes are not a well-formed container, or it does not state its duration."""


def is_mp4(data: bytes) -> bool:
    """Whether `data` starts like an ISO base media file: an `ftyp` box first."""
    return len(data) >= 12 and data[4:8] == b"ftyp"


def is_ebml(data: bytes) -> bool:
    """Whether `data` starts with the EBML header magic (Matroska and WebM)."""
    return data[:4] == _EBML_MAGIC


def mp4_duration(data: bytes) -> float:
    """The movie's duration in seconds, from `moov/mvhd` (versions 0 and 1)."""
    mvhd = _find_mp4_box(data, 0, len(data), b"mvhd", 0)
    if mvhd is None:
        raise ContainerError("no movie header (moov/mvhd) in the MP4 file")
    start, end = mvhd
    body = data[start:end]
    if not body:
        raise ContainerError("empty MP4 movie header")
    version = body[0]
    if version == 0 and len(body) >= 20:
        timescale, duration = struct.unpack(">II", body[12:20])
    elif version == 1 and len(body) >= 32:
        timescale, duration = struct.unpack(">IQ", body[20:32])
    else:
        raise ContainerError("truncated or unknown MP4 movie header")
    if timescale == 0:
        raise ContainerError("MP4 movie header with a zero timescale")
    # All ones means "unknown" in ISO/IEC 14496-12.
    if duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        raise ContainerError("the MP4 file does not state its duration")
    return float(duration) / float(timescale)


def _find_mp4_box(
    data: bytes, start: int, end: int, wanted: bytes, depth: int
) -> tuple[int, int] | None:
    """The (body start, body end) of the first `wanted` box in [start, end), looking into
    the containers on the way."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise ContainerError("truncated MP4 box header")
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos  # the box runs to the end of its parent
        if size < header or pos + size > end:
            raise ContainerError(f"MP4 box {kind!r} overruns the file")
        if kind == wanted:
            return pos + header, pos + size
        if kind in _MP4_CONTAINERS and depth < _MAX_DEPTH:
            found = _find_mp4_box(data, pos + header, pos + size, wanted, depth + 1)
            if found is not None:
                return found
        pos += size
    return None


def webm_doctype(data: bytes) -> str:
    """The EBML header's DocType ("webm", "matroska", ...)."""
    if not is_ebml(data):
        raise ContainerError("not an EBML file")
    _, body, end, _ = _ebml_element(data, 0, len(data))
    for element_id, start, stop in _ebml_children(data, body, end):
        if element_id == _EBML_DOCTYPE:
            return data[start:stop].rstrip(b"\x00").decode("ascii", "replace")
    raise ContainerError("EBML header without a DocType")


def webm_duration(data: bytes) -> float:
    """The segment's duration in seconds, from `Segment/Info/Duration` and its scale."""
    _, _, header_end, _ = _ebml_element(data, 0, len(data))
    pos = header_end
    while pos < len(data):
        element_id, body, end, _ = _ebml_element(data, pos, len(data))
        if element_id == _MKV_SEGMENT:
            return _info_duration(data, body, end)
        pos = end
    raise ContainerError("no Segment in the WebM file")


def _info_duration(data: bytes, start: int, end: int) -> float:
    for element_id, body, stop in _ebml_children(data, start, end):
        if element_id != _MKV_INFO:
            continue
        scale_ns, duration = _MKV_DEFAULT_SCALE_NS, None
        for child_id, child, child_end in _ebml_children(data, body, stop):
            payload = data[child:child_end]
            if child_id == _MKV_TIMESTAMP_SCALE:
                scale_ns = int.from_bytes(payload, "big")
            elif child_id == _MKV_DURATION:
                if len(payload) == 4:
                    (duration,) = struct.unpack(">f", payload)
                elif len(payload) == 8:
                    (duration,) = struct.unpack(">d", payload)
                else:
                    raise ContainerError("WebM Duration is neither a 4- nor an 8-byte float")
        if duration is None:
            raise ContainerError("the WebM file does not state its duration")
        if scale_ns <= 0 or not duration >= 0 or duration == float("inf"):
            raise ContainerError("WebM duration or timestamp scale out of range")
        return float(duration) * scale_ns / 1e9
    raise ContainerError("no segment Info in the WebM file")


def _ebml_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The (id, body start, body end) of each element directly inside [start, end)."""
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos < end:
        element_id, body, stop, unknown = _ebml_element(data, pos, end)
        if unknown:
            raise ContainerError("unknown-size element inside a sized one")
        out.append((element_id, body, stop))
        pos = stop
    return out


def _ebml_element(data: bytes, pos: int, end: int) -> tuple[int, int, int, bool]:
    """One element at `pos`: its id, body start, body end and whether its size was the
    "unknown" marker (a live-written Segment; its body then runs to `end`)."""
    element_id, id_len = _vint(data, pos, end, keep_marker=True)
    size, size_len = _vint(data, pos + id_len, end, keep_marker=False)
    body = pos + id_len + size_len
    unknown = size == (1 << (7 * size_len)) - 1
    stop = end if unknown else body + size
    if stop > end:
        raise ContainerError("EBML element overruns the file")
    return element_id, body, stop, unknown


def _vint(data: bytes, pos: int, end: int, *, keep_marker: bool) -> tuple[int, int]:
    if pos >= end:
        raise ContainerError("truncated EBML element")
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or pos + length > end:
        raise ContainerError("invalid EBML variable-length integer")
    value = first if keep_marker else first & ((0x80 >> (length - 1)) - 1)
    for byte in data[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, length
