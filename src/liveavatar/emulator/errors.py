"""Close codes and reasons the emulator uses, worded as the real Live service words them."""

from __future__ import annotations

NORMAL = 1000
INVALID_ARGUMENT = 1007
POLICY = 1008
TOO_BIG = 1009
INTERNAL = 1011

REASON_INVALID_ARGUMENT = "Request contains an invalid argument."
REASON_INTERNAL = "Internal error occurred."
REASON_NOT_FOUND = "Requested entity was not found."
REASON_PERMISSION = "The caller does not have permission"  # Google's PERMISSION_DENIED


def model_not_found(model: str, api_version: str) -> str:
    """The 1008 reason for an unknown model, trimmed to the 123-byte close-reason limit."""
    text = (
        f"{model} is not found for API version {api_version}, "
        "or is not supported for bidiGenerateContent"
    )
    return truncate_reason(text)


def truncate_reason(text: str) -> str:
    """Fit a close reason into the WebSocket limit of 123 UTF-8 bytes."""
    data = text.encode()
    if len(data) <= 123:
        return text
    return data[:120].decode(errors="ignore") + "..."


class LiveCloseError(Exception):
    """Ends a Live connection with a close code and reason, as the real service does."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = truncate_reason(reason)
