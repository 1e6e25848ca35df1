"""The client's address and scheme behind proxies, from X-Forwarded-For and -Proto.

The client address keys the per-address rate limit and, with auth off, the anonymous
user, so whoever may write it must be chosen with care. Each proxy appends the address
it received the request from to `X-Forwarded-For`; only the entries appended by our own
proxies are true, everything to their left is whatever the client sent. With a hop count
`hops`, the client is the entry `hops` places from the right: Cloud Run's front end
appends one entry (hops 1); an external HTTPS load balancer in front of Cloud Run appends
the client's and its own address (hops 2). A forged leftmost entry is never reached.

Without a hop count, a list of trusted peers works as uvicorn's `forwarded_allow_ips`:
the client is the right-most entry that is not itself a trusted proxy. With a hop count,
the list (if any) only says which peers may send forwarded headers at all; Cloud Run's
front end has no fixed address, and nothing else can reach the container.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_WS_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}
_HTTP_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


class TrustedPeers:
    """A set of peer addresses and networks; `*` is every peer."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.any = "*" in entries
        self._hosts: set[str] = set()
        self._networks: list[_Network] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                self._networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self._hosts.add(entry)  # a name such as a unix socket's label

    def __bool__(self) -> bool:
        return self.any or bool(self._hosts) or bool(self._networks)

    def __contains__(self, host: object) -> bool:
        if self.any:
            return True
        if not isinstance(host, str):
            return False
        if host in self._hosts:
            return True
        address = _address(host)
        return address is not None and any(address in net for net in self._networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def forwarded_for(headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
    """Every X-Forwarded-For entry, left to right, over all such headers in order."""
    entries: list[str] = []
    for name, value in headers:
        if name.lower() == b"x-forwarded-for":
            entries += [e.strip() for e in value.decode("latin-1").split(",") if e.strip()]
    return entries


def _header(headers: Sequence[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    for name, value in headers:
        if name.lower() == wanted:
            return value.decode("latin-1")
    return None


class ForwardedClient:
    """ASGI middleware that sets `scope["client"]` and `scope["scheme"]` from the
    forwarded headers our own proxies wrote (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, hops: int = 0, trusted: Sequence[str] = ()) -> None:
        if hops < 0:
            raise ValueError("hops must be >= 0")
        self.app = app
        self.hops = hops
        self.trusted = TrustedPeers(trusted)
        self._warned = False

    @property
    def active(self) -> bool:
        """Whether any forwarded header is ever believed."""
        return self.hops > 0 or bool(self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.active:
            scope = self._resolve(scope)
        await self.app(scope, receive, send)

    def _resolve(self, scope: Scope) -> Scope:
        peer = scope.get("client")
        peer_host = peer[0] if peer else None
        if self.trusted and peer_host not in self.trusted:
            return scope
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        updated: dict[str, Any] = {}
        client = self._client(forwarded_for(headers))
        if client is not None:
            updated["client"] = (client, 0)
        proto = _header(headers, b"x-forwarded-proto")
        if proto:
            # The scheme our nearest proxy saw is the last one it appended.
            last = proto.rsplit(",", 1)[-1].strip().lower()
            table = _WS_SCHEMES if scope["type"] == "websocket" else _HTTP_SCHEMES
            if last in table:
                updated["scheme"] = table[last]
        return {**scope, **updated} if updated else scope

    def _client(self, entries: list[str]) -> str | None:
        if self.hops == 0:
            # uvicorn's rule: the right-most entry that is not one of our proxies.
            for entry in reversed(entries):
                if entry not in self.trusted:
                    return entry
            return entries[0] if entries else None
        if len(entries) < self.hops:
            self._warn_once(
                "fewer X-Forwarded-For entries than TRUSTED_PROXY_HOPS: the peer is taken "
                "as the client",
                entries=len(entries),
            )
            return None
        entry = entries[-self.hops]
        address = _address(entry)
        if address is None:
            self._warn_once(
                "the X-Forwarded-For entry TRUSTED_PROXY_HOPS from the right is not an "
                "address: the peer is taken as the client",
                entries=len(entries),
            )
            return None
        return str(address)

    def _warn_once(self, message: str, *, entries: int) -> None:
        # Once per process: a misconfigured hop count would otherwise log on every request.
        if self._warned:
            return
        self._warned = True
        logger.warning(message, extra={"trusted_proxy_hops": self.hops, "entries": entries})
