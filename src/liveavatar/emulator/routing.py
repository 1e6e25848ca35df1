"""Which Live endpoint a handshake asks for, and which credential it carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from .outbound import Flavor

_GEMINI = re.compile(
    r"/ws/google\.ai\.generativelanguage\.(?P<ver>v1|v1alpha|v1beta|v1beta1)"
    r"\.GenerativeService\.(?P<rpc>BidiGenerateContent|BidiGenerateContentConstrained)$"
)
_VERTEX = re.compile(
    r"/ws/google\.cloud\.aiplatform\.(?P<ver>v1|v1beta1|v1beta|v1alpha)"
    r"\.LlmBidiService/(?P<rpc>BidiGenerateContent)$"
)
_SLASHES = re.compile(r"/{2,}")


@dataclass(frozen=True)
class Route:
    """A recognised Live endpoint: API flavour and version segment."""

    flavor: Flavor
    api_version: str
    constrained: bool


def match_route(path: str) -> Route | None:
    """Route on the path after collapsing repeated slashes; a path prefix is allowed."""
    clean = _SLASHES.sub("/", path.split("?", 1)[0])
    if m := _GEMINI.search(clean):
        return Route("gemini", m["ver"], m["rpc"].endswith("Constrained"))
    if m := _VERTEX.search(clean):
        return Route("vertex", m["ver"], False)
    return None


def extract_credential(path: str, headers: dict[str, str]) -> str | None:
    """The credential from any place the protocol allows, first match wins.

    Order: `?key=`, `?access_token=`, `x-goog-api-key`, `Authorization: Token|Bearer`.
    `headers` must have lower-case names.
    """
    query = parse_qs(path.partition("?")[2])
    for name in ("key", "access_token"):
        if query.get(name):
            return query[name][0]
    if headers.get("x-goog-api-key"):
        return headers["x-goog-api-key"]
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None
