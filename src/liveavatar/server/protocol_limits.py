"""Transport limits of the browser socket, shared by the server runner and tests."""

from liveavatar.protocol import MAX_JSON_FRAME_BYTES

# A frame above this is refused by the WebSocket layer itself with close code 1009.
WS_MAX_BYTES = MAX_JSON_FRAME_BYTES
