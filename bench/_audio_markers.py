"""Audio chunks that carry their own sequence number, so the load generator matches each
echoed chunk to when it was sent, even if the backend drops audio.

Every 20 ms chunk carries its sequence number in its first samples (`marker_chunk`); the
echo at 24 kHz starts with the same value (linear interpolation of equal samples keeps them
exact). The frames carrying them are built once per run (`direct_frames`,
`proxied_frames`).
"""

from __future__ import annotations

import base64
import os

from ._ws_client import OP_BINARY, OP_TEXT, client_frame

IN_CHUNK_BYTES = 640  # 20 ms of 16 kHz PCM16
OUT_CHUNK_BYTES = 960  # 20 ms of 24 kHz PCM16
MARKER_MOD = 32767  # markers are 1..32767 so a silent (all-zero) chunk never matches
MARKER_SAMPLES = 4  # equal leading samples: the resampled echo keeps the value exactly


def marker_value(seq: int) -> int:
    """The int16 sample value that marks chunk `seq` (1..MARKER_MOD, wrapping)."""
    return seq % MARKER_MOD + 1


def marker_chunk(seq: int) -> bytes:
    """640 bytes of 16 kHz PCM16: MARKER_SAMPLES samples holding the marker, then silence."""
    head = marker_value(seq).to_bytes(2, "little", signed=True) * MARKER_SAMPLES
    return head + bytes(IN_CHUNK_BYTES - len(head))


class SeqTracker:
    """Maps the markers of received chunks back to sequence numbers, in order.

    Replies come back in order over one connection; a marker that skips ahead means the
    chunks in between were lost (`lost`). A marker for a chunk not sent yet, or not a
    marker at all, counts in `bad`.
    """

    def __init__(self) -> None:
        self.next = 0
        self.received = 0
        self.lost = 0
        self.bad = 0

    def match(self, marker: int, sent: int) -> int | None:
        """The sequence number of the chunk carrying `marker`, given `sent` chunks so far."""
        if not 1 <= marker <= MARKER_MOD:
            self.bad += 1
            return None
        seq = self.next + (marker - 1 - self.next) % MARKER_MOD
        if seq >= sent:
            self.bad += 1
            return None
        self.lost += seq - self.next
        self.next = seq + 1
        self.received += 1
        return seq


def chunk_markers(
    payload: bytes | bytearray, rx_bytes: int, half: int | None
) -> tuple[list[int], int | None]:
    """Markers at every 24 kHz chunk start inside a binary frame of the echoed stream.

    `rx_bytes` is how many stream bytes came before this frame and `half` the low byte of
    a marker that the previous frame cut in two. Returns the markers and the new `half`.
    Frames need not be aligned to chunks: the backend may split or coalesce them.
    """
    markers: list[int] = []
    size = len(payload)
    if half is not None and size:
        markers.append(int.from_bytes(bytes((half, payload[0])), "little", signed=True))
        half = None
    off = (-rx_bytes) % OUT_CHUNK_BYTES
    while off < size:
        if off + 1 < size:
            markers.append(int.from_bytes(payload[off : off + 2], "little", signed=True))
        else:
            half = payload[off]
        off += OUT_CHUNK_BYTES
    return markers, half


def json_audio_marker(payload: bytes | bytearray) -> int | None:
    """The first sample of the audio in a Live `inlineData` message, or None if it has none.

    Decodes only the first four base64 characters (three bytes) instead of the message.
    """
    at = payload.find(b'"data":"')
    if at < 0:
        return None
    head = base64.b64decode(bytes(payload[at + 8 : at + 12]))
    return int.from_bytes(head[:2], "little", signed=True)


def direct_frames(count: int) -> list[bytes]:
    """Pre-built Live `realtimeInput` text frames for sequence numbers 0..count-1."""
    key = os.urandom(4)
    out = []
    for seq in range(min(count, MARKER_MOD)):
        data = base64.b64encode(marker_chunk(seq)).decode("ascii")
        msg = (
            '{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"' + data + '"}}}'
        )
        out.append(client_frame(OP_TEXT, msg.encode(), key))
    return out


def proxied_frames(count: int) -> list[bytes]:
    """Pre-built binary frames of raw 16 kHz PCM16 for sequence numbers 0..count-1."""
    key = os.urandom(4)
    return [
        client_frame(OP_BINARY, marker_chunk(seq), key) for seq in range(min(count, MARKER_MOD))
    ]
