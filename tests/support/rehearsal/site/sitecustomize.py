"""Name resolution for a rehearsal subprocess: Google's hostnames answered by local stand-ins.

Python imports `sitecustomize` at start-up from the first folder on `sys.path` that has
one; the rehearsal puts this folder first on the backend process's `PYTHONPATH`. Below the
product, it maps the names listed in `LIVEAVATAR_REHEARSAL_HOSTS`, a JSON object
`{"host:443": "127.0.0.1:port"}`, to their stand-ins' addresses, port included, in the
two places a name is resolved in the backend:

- `socket.getaddrinfo`: urllib3 (google-auth's token refresh) and asyncio's own loop;
- uvloop, which `liveavatar serve` runs on and which resolves through libuv instead: its
  `Loop` is replaced by a subclass whose `create_connection` and `getaddrinfo` map first
  (websockets, the readiness probe).

The product keeps connecting to `generativelanguage.googleapis.com:443` and verifying that
name's certificate.

Any other name that is not local is refused as unknown, so nothing the process does can
leave 127.0.0.1 (no metadata server, no real Google).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from typing import Any

_MAP_VAR = "LIVEAVATAR_REHEARSAL_HOSTS"
_LOCAL = frozenset({"localhost", "localhost.localdomain"})


def _parse(mapping: dict[str, str]) -> dict[tuple[str, int], tuple[str, int]]:
    targets = {}
    for source, target in mapping.items():
        host, _, port = source.rpartition(":")
        to_host, _, to_port = target.rpartition(":")
        targets[(host.lower(), int(port))] = (to_host, int(to_port))
    return targets


def _target(
    targets: dict[tuple[str, int], tuple[str, int]], host: Any, port: Any
) -> tuple[str, int] | None:
    """Where (`host`, `port`) really goes: None for local names (unchanged), the stand-in
    for a mapped name; any other name raises `socket.gaierror`."""
    name = host.decode("idna") if isinstance(host, bytes) else host
    if name is None or _is_local(name):
        return None
    target = targets.get((name.lower().rstrip("."), _port_number(port)))
    if target is None:
        raise socket.gaierror(
            socket.EAI_NONAME, f"rehearsal: {name}:{port} has no stand-in (offline test)"
        )
    return target


def _install(targets: dict[tuple[str, int], tuple[str, int]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        target = _target(targets, host, port)
        if target is None:
            return real(host, port, family, type, proto, flags)
        # The stand-ins listen on IPv4 only.
        return real(target[0], target[1], socket.AF_INET, type, proto, flags)

    socket.getaddrinfo = getaddrinfo
    try:
        import uvloop
    except ImportError:
        return

    class MappedLoop(uvloop.Loop):
        async def create_connection(
            self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
        ) -> Any:
            target = _target(targets, host, port) if host is not None else None
            if target is not None:
                if kwargs.get("ssl") and kwargs.get("server_hostname") is None:
                    kwargs["server_hostname"] = host  # verify the name asked for
                host, port = target
            return await super().create_connection(protocol_factory, host, port, **kwargs)

        async def getaddrinfo(self, host: Any, port: Any, *, family: int = 0, **kwargs: Any) -> Any:
            target = _target(targets, host, port)
            if target is not None:
                host, port, family = target[0], target[1], socket.AF_INET
            return await super().getaddrinfo(host, port, family=family, **kwargs)

    # `uvloop.new_event_loop()`, which `uvloop.run()` calls, looks `Loop` up at call time.
    uvloop.Loop = MappedLoop  # type: ignore[misc]


def _is_local(name: str) -> bool:
    if name.lower() in _LOCAL or name == "":
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _port_number(port: Any) -> int:
    if isinstance(port, bytes):
        port = port.decode("ascii")
    if isinstance(port, str) and not port.isdigit():
        return socket.getservbyname(port, "tcp")
    return int(port or 0)


if os.environ.get(_MAP_VAR):
    _install(_parse(json.loads(os.environ[_MAP_VAR])))
