"""The Ogg page writer: CRC, lacing, headers, checked against libsndfile as the decoder."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import soundfile as sf  # type: ignore[import-untyped]

from liveavatar.bridge.recording.encoder import OpusStreamEncoder
from liveavatar.bridge.recording.ogg import lacing, ogg_crc, opus_head, opus_tags, page

from .support import tone


def test_the_crc_is_oggs_not_zlibs() -> None:
    # The CRC-32/MPEG-2 family without the init and final xor: the check value of
    # "123456789" for poly 0x04C11DB7, init 0, no reflection, no xor is 0x89A1897F.
    assert ogg_crc(b"123456789") == 0x89A1897F
    assert ogg_crc(b"123456789") != zlib.crc32(b"123456789")
    assert ogg_crc(b"") == 0


def test_a_page_carries_its_own_crc_over_the_zeroed_field() -> None:
    raw = page([b"abc", b"x" * 300], 960, 7, 3, bos=False, eos=True)
    assert raw[:4] == b"OggS" and raw[5] == 0x04
    granule, serial, sequence, crc, segments = struct.unpack_from("<qIIIB", raw, 6)
    assert (granule, serial, sequence, segments) == (960, 7, 3, 3)
    assert raw[27:30] == bytes([3, 255, 45])
    zeroed = raw[:22] + b"\0\0\0\0" + raw[26:]
    assert crc == ogg_crc(zeroed)


def test_lacing_ends_every_packet_with_a_short_segment() -> None:
    assert lacing(0) == b"\x00"
    assert lacing(254) == b"\xfe"
    assert lacing(255) == b"\xff\x00"
    assert lacing(600) == b"\xff\xff\x5a"


def test_headers_follow_rfc_7845() -> None:
    head = opus_head(2, 312, 24_000)
    assert head[:8] == b"OpusHead"
    assert struct.unpack("<BBHIhB", head[8:]) == (1, 2, 312, 24_000, 0, 0)
    assert opus_tags("v") == b"OpusTags\x01\x00\x00\x00v\x00\x00\x00\x00"


def _pages(data: bytes) -> list[tuple[int, int, int, bytes]]:
    """(flags, granule, sequence, whole page) for each page, checking each CRC."""
    out = []
    pos = 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        flags = data[pos + 5]
        granule, _serial, sequence, crc, count = struct.unpack_from("<qIIIB", data, pos + 6)
        table = data[pos + 27 : pos + 27 + count]
        end = pos + 27 + count + sum(table)
        whole = data[pos:end]
        assert crc == ogg_crc(whole[:22] + b"\0\0\0\0" + whole[26:])
        out.append((flags, granule, sequence, whole))
        pos = end
    return out


def test_an_encoded_stream_is_well_formed_and_libsndfile_reads_it() -> None:
    pcm = np.frombuffer(tone(3.01, 24_000), dtype="<i2")
    encoder = OpusStreamEncoder(24_000)
    data = encoder.encode(np.stack([pcm, pcm], axis=1)) + encoder.close()
    pages = _pages(data)
    assert pages[0][0] == 0x02 and pages[0][3][28:36] == b"OpusHead"
    assert pages[1][0] == 0 and pages[1][3][28:36] == b"OpusTags"
    assert [p[2] for p in pages] == list(range(len(pages)))
    assert all(p[0] == 0 for p in pages[1:-1]) and pages[-1][0] == 0x04
    granules = [p[1] for p in pages[2:]]
    assert granules == sorted(granules)
    pre_skip = struct.unpack_from("<H", pages[0][3], 28 + 10)[0]
    assert granules[-1] == pre_skip + 2 * len(pcm)  # trimmed to the input, at 48 kHz
    info = sf.info(io.BytesIO(data))
    assert info.channels == 2 and info.format == "OGG" and info.subtype == "OPUS"
