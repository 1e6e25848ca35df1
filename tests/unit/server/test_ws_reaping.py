"""The browser socket's own framing of data frames: what the sans-I/O protocol would send."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from liveavatar.server.ws_reaping import server_frame_header


@pytest.mark.parametrize("size", [0, 1, 125, 126, 960, 65_535, 65_536, 200_000])
@pytest.mark.parametrize("opcode", [Opcode.BINARY, Opcode.TEXT])
def test_header_and_payload_are_the_frame_websockets_serializes(size: int, opcode: Opcode) -> None:
    payload = bytes(i % 251 for i in range(size))
    if opcode is Opcode.TEXT:
        payload = b"a" * size
    expected = Frame(opcode, payload).serialize(mask=False)
    first = 0x80 | opcode.value
    assert server_frame_header(first, size) + payload == expected
