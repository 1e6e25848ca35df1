"""Ogg Opus pages (RFC 3533, RFC 7845) from Opus packets, written front to back.

The first page holds `OpusHead` (beginning of stream), the second `OpusTags`, then audio
pages. A page's granule position is the count of 48 kHz samples decoded once its last
packet is (pre-skip included); the last page's granule is set short of that so decoders
drop the silence that padded the final frame (RFC 7845 §4.4). Nothing is rewritten once
out, so every prefix that ends on a page is a stream players decode.
"""

from __future__ import annotations

import os
import struct

GRANULE_RATE = 48_000
MAX_SEGMENTS = 255

_CONTINUED = 0x01
_BOS = 0x02
_EOS = 0x04
_PAGE_HEADER = struct.Struct("<4sBBqIIIB")


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def ogg_crc(data: bytes) -> int:
    """Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, initial 0, no final xor);
    not zlib's, which is reflected."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[(crc >> 24) ^ byte]
    return crc


def lacing(size: int) -> bytes:
    """A packet's segment table entries: 255s, then the remainder (0 if a multiple)."""
    return b"\xff" * (size // 255) + bytes([size % 255])


def page(
    packets: list[bytes], granule: int, serial: int, sequence: int, *, bos: bool, eos: bool
) -> bytes:
    """One page of whole packets (their lacing must fit in 255 segments)."""
    table = b"".join(lacing(len(p)) for p in packets)
    if len(table) > MAX_SEGMENTS:
        raise ValueError(f"{len(table)} segments do not fit in one page")
    flags = (_BOS if bos else 0) | (_EOS if eos else 0)
    header = _PAGE_HEADER.pack(b"OggS", 0, flags, granule, serial, sequence, 0, len(table))
    raw = bytearray(header + table + b"".join(packets))
    struct.pack_into("<I", raw, 22, ogg_crc(bytes(raw)))
    return bytes(raw)


def opus_head(channels: int, pre_skip: int, input_rate: int) -> bytes:
    """RFC 7845 §5.1: version 1, gain 0, channel mapping family 0."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, input_rate, 0, 0)


def opus_tags(vendor: str) -> bytes:
    """RFC 7845 §5.2: the vendor string and no comments."""
    raw = vendor.encode("utf-8")
    return b"OpusTags" + struct.pack("<I", len(raw)) + raw + struct.pack("<I", 0)


class OggOpusMuxer:
    """Packets in, pages out: `add` queues a packet, `flush` writes the queued ones."""

    def __init__(self, channels: int, pre_skip: int, input_rate: int, vendor: str) -> None:
        self.pre_skip = pre_skip  # 48 kHz samples
        self._serial = int.from_bytes(os.urandom(4), "little")
        self._sequence = 0
        self._granule = 0  # 48 kHz samples decoded so far, pre-skip included
        self._packets: list[bytes] = []
        self._segments = 0
        self._ended = False
        self._out = bytearray()
        self._emit([opus_head(channels, pre_skip, input_rate)], 0, bos=True)
        self._emit([opus_tags(vendor)], 0)

    @property
    def queued(self) -> int:
        return len(self._packets)

    @property
    def ended(self) -> bool:
        return self._ended

    def add(self, packet: bytes, samples_48k: int) -> None:
        """Queue one packet that decodes to `samples_48k`; a full page is flushed first."""
        need = len(packet) // 255 + 1
        if self._segments + need > MAX_SEGMENTS:
            self.flush()
        self._packets.append(packet)
        self._segments += need
        self._granule += samples_48k

    def flush(self, *, end_granule: int | None = None) -> None:
        """Write the queued packets as a page; with `end_granule`, the last page (EOS),
        whose granule trims the stream to that many decoded samples."""
        if self._ended:
            return
        if end_granule is not None:
            self._emit(self._packets, min(end_granule, self._granule), eos=True)
            self._ended = True
        elif self._packets:
            self._emit(self._packets, self._granule)
        self._packets = []
        self._segments = 0

    def take(self) -> bytes:
        """The pages written since the last call; nothing before the first audio page, so
        that all taken so far is always a stream that decodes."""
        if self._sequence <= 2 and not self._ended:
            return b""
        data = bytes(self._out)
        self._out.clear()
        return data

    def _emit(
        self, packets: list[bytes], granule: int, *, bos: bool = False, eos: bool = False
    ) -> None:
        self._out += page(packets, granule, self._serial, self._sequence, bos=bos, eos=eos)
        self._sequence += 1
