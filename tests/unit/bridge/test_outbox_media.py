"""The native avatar's fMP4 lane: framed apart from PCM, bounded, flushed on barge-in."""

from __future__ import annotations

import asyncio

from liveavatar import protocol as p
from liveavatar.bridge.outbox import MEDIA_FRAME_BYTES, MEDIA_LIMIT_BYTES, Outbox

INIT = b"\x00\x00\x00\x10ftypiso5" + b"\x00" * 4 + b"moov-ish"


def unframe(frame: bytes) -> bytes:
    """What the page does (docs/API.md): odd length, kind byte, optional padding byte."""
    assert len(frame) % 2 == 1
    assert frame[0] in (p.MEDIA_FMP4, p.MEDIA_FMP4_PADDED)
    return frame[2:] if frame[0] == p.MEDIA_FMP4_PADDED else frame[1:]


async def next_frame(box: Outbox) -> str | bytes:
    return await asyncio.wait_for(box.get(), 1)


def test_media_frames_are_odd_and_carry_the_bytes_unchanged() -> None:
    for data in (b"ab", b"abc", INIT, b"x" * 1001):
        frame = p.media_frame(data)
        assert unframe(frame) == data
    # PCM frames are always even: a page cannot take one for the other.
    assert all(len(p.media_frame(b"y" * n)) % 2 == 1 for n in range(1, 64))


async def test_control_first_then_the_media_queued_joined_in_one_frame() -> None:
    box = Outbox()
    box.put_media(INIT)
    box.put_media(b"moof-mdat-1")
    box.put_control(p.TurnComplete(turn=1))
    first = await next_frame(box)
    assert isinstance(first, str) and '"turn_complete"' in first
    media = await next_frame(box)
    assert isinstance(media, bytes) and unframe(media) == INIT + b"moof-mdat-1"
    assert box.queued_media_bytes == 0


async def test_over_the_bound_the_oldest_go_but_never_the_init_segment() -> None:
    box = Outbox()
    box.put_media(INIT)
    piece = b"m" * (MEDIA_LIMIT_BYTES // 4)
    for n in range(8):
        box.put_media(bytes([n]) + piece)
    assert box.queued_media_bytes <= MEDIA_LIMIT_BYTES
    assert box.dropped_media_chunks == 5
    assert box.dropped_media_bytes == 5 * (len(piece) + 1)
    frames = [unframe(await next_frame(box)) for _ in range(4)]  # type: ignore[arg-type]
    assert frames[0] == INIT  # alone: the next chunk would make the frame too big
    assert [f[0] for f in frames[1:]] == [5, 6, 7]  # the newest three are kept, in order
    assert box.queued_media_bytes == 0


async def test_a_page_that_stopped_reading_holds_the_bound_and_one_small_frame() -> None:
    # The writer has taken one frame and waits for the socket (a page that stopped
    # reading); Live goes on sending. What waits is the lane's bound, and the frame the
    # writer holds is small: it once joined everything queued, a second 2 MiB beyond it.
    box = Outbox()
    box.put_media(INIT)
    fragment = b"f" * (48 * 1024)
    for _ in range(2 * MEDIA_LIMIT_BYTES // len(fragment)):
        box.put_media(fragment)
    held = await next_frame(box)
    assert isinstance(held, bytes) and len(held) <= MEDIA_FRAME_BYTES + 2
    assert unframe(held).startswith(INIT)
    for _ in range(2 * MEDIA_LIMIT_BYTES // len(fragment)):
        box.put_media(fragment)
        assert box.queued_media_bytes <= MEDIA_LIMIT_BYTES
    assert box.dropped_media_chunks > 0
    # The rest still comes, in frames of at most MEDIA_FRAME_BYTES, every byte accounted.
    sent = 0
    while box.queued_media_bytes:
        frame = await next_frame(box)
        assert isinstance(frame, bytes) and len(frame) <= MEDIA_FRAME_BYTES + 2
        sent += len(unframe(frame))
    assert sent % len(fragment) == 0 and sent <= MEDIA_LIMIT_BYTES


async def test_a_chunk_bigger_than_a_frame_still_goes_whole() -> None:
    box = Outbox()
    big = b"b" * (MEDIA_FRAME_BYTES + 1)
    box.put_media(big)
    box.put_media(b"small")
    assert unframe(await next_frame(box)) == big  # type: ignore[arg-type]
    assert unframe(await next_frame(box)) == b"small"  # type: ignore[arg-type]


async def test_a_barge_in_drops_the_media_but_an_unsent_init_segment() -> None:
    box = Outbox()
    box.put_media(INIT)
    box.put_media(b"moof-1")
    box.put_media(b"moof-2")
    assert box.flush_media() == 2
    assert box.dropped_media_chunks == 0  # flushed on purpose, not lost
    assert unframe(await next_frame(box)) == INIT  # type: ignore[arg-type]
