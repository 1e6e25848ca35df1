"""The client's address from X-Forwarded-For: a hop count, trusted peers, forged entries."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from liveavatar.server.forwarded import ForwardedClient, TrustedPeers, forwarded_for

PEER = ("169.254.1.1", 41234)


async def resolved(
    middleware_args: dict[str, Any],
    headers: list[tuple[bytes, bytes]],
    *,
    kind: str = "http",
    peer: tuple[str, int] | None = PEER,
) -> dict[str, Any]:
    """The scope the application behind `ForwardedClient(**middleware_args)` sees."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    scope: dict[str, Any] = {
        "type": kind,
        "client": peer,
        "scheme": "ws" if kind == "websocket" else "http",
        "headers": headers,
    }

    async def receive() -> Any:
        raise AssertionError

    async def send(message: Any) -> None:
        raise AssertionError

    await ForwardedClient(app, **middleware_args)(scope, receive, send)
    return seen


def xff(value: str) -> tuple[bytes, bytes]:
    return (b"x-forwarded-for", value.encode())


async def test_no_hops_and_no_peers_believe_nothing() -> None:
    scope = await resolved({}, [xff("203.0.113.9"), (b"x-forwarded-proto", b"https")])
    assert scope["client"] == PEER and scope["scheme"] == "http"


@pytest.mark.parametrize(
    ("hops", "header", "client"),
    [
        (1, "198.51.100.7", "198.51.100.7"),  # Cloud Run direct
        (1, "203.0.113.66, 198.51.100.7", "198.51.100.7"),  # a forged leftmost entry
        (2, "198.51.100.7, 34.120.0.1", "198.51.100.7"),  # load balancer + Cloud Run
        (2, "6.6.6.6, 198.51.100.7, 34.120.0.1", "198.51.100.7"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
async def test_the_client_is_hops_from_the_right(hops: int, header: str, client: str) -> None:
    scope = await resolved({"hops": hops}, [xff(header)])
    assert scope["client"] == (client, 0)


async def test_several_headers_read_as_one_list() -> None:
    scope = await resolved({"hops": 1}, [xff("203.0.113.66"), xff("198.51.100.7")])
    assert scope["client"] == ("198.51.100.7", 0)
    assert forwarded_for([xff("a, b"), (b"other", b"c"), xff(" c ,")]) == ["a", "b", "c"]


async def test_too_few_entries_fall_back_to_the_peer_and_log_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"])

    middleware = ForwardedClient(app, hops=2)
    caplog.set_level(logging.WARNING, logger="liveavatar.server.forwarded")
    for headers in ([xff("198.51.100.7")], [], [xff("not-an-address, 34.120.0.1")]):
        scope = {"type": "http", "client": PEER, "scheme": "http", "headers": headers}
        await middleware(scope, None, None)  # type: ignore[arg-type]
    assert seen == [PEER, PEER, PEER]
    assert len(caplog.records) == 1
    assert "TRUSTED_PROXY_HOPS" in caplog.records[0].getMessage()


async def test_with_hops_a_peer_list_says_who_may_forward() -> None:
    args = {"hops": 1, "trusted": ["10.0.0.0/8"]}
    assert (await resolved(args, [xff("198.51.100.7")]))["client"] == PEER
    inside = await resolved(args, [xff("198.51.100.7")], peer=("10.1.2.3", 5))
    assert inside["client"] == ("198.51.100.7", 0)


async def test_peers_without_hops_skip_trusted_entries_from_the_right() -> None:
    args = {"trusted": ["127.0.0.1", "10.0.0.0/8"]}
    peer = ("127.0.0.1", 5)
    scope = await resolved(args, [xff("6.6.6.6, 198.51.100.7, 10.9.9.9")], peer=peer)
    assert scope["client"] == ("198.51.100.7", 0)
    assert (await resolved(args, [xff("10.9.9.9")], peer=peer))["client"] == ("10.9.9.9", 0)
    assert (await resolved(args, [], peer=peer))["client"] == peer


@pytest.mark.parametrize(
    ("kind", "proto", "scheme"),
    [
        ("http", "https", "https"),
        ("websocket", "https", "wss"),
        ("websocket", "http, https", "wss"),  # the nearest proxy's is the last one
        ("http", "gopher", "http"),
    ],
)
async def test_the_scheme_follows_x_forwarded_proto(kind: str, proto: str, scheme: str) -> None:
    headers = [xff("198.51.100.7"), (b"x-forwarded-proto", proto.encode())]
    assert (await resolved({"hops": 1}, headers, kind=kind))["scheme"] == scheme


async def test_lifespan_passes_through() -> None:
    scope = await resolved({"hops": 1}, [], kind="lifespan", peer=None)
    assert scope["type"] == "lifespan" and scope["client"] is None


def test_trusted_peers() -> None:
    peers = TrustedPeers(["127.0.0.1", "10.0.0.0/8", "testclient"])
    assert "127.0.0.1" in peers and "10.200.0.1" in peers and "testclient" in peers
    assert "11.0.0.1" not in peers and None not in peers
    assert "anything" in TrustedPeers(["*"]) and not TrustedPeers([])


def test_negative_hops_are_refused() -> None:
    with pytest.raises(ValueError, match="hops"):
        ForwardedClient(lambda *a: None, hops=-1)  # type: ignore[arg-type]
