"""Forged X-Forwarded-For and -Proto under hypothesis (profiles in tests/support/fuzz.py).

Whatever a client writes into the headers, the address our own proxies appended is the
one believed, and the scheme is one of the four the app knows. Hand-picked cases are in
test_forwarded.py.
"""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveavatar.server.forwarded import ForwardedClient
from tests.support.fuzz import SCALE, examples

PEER = ("169.254.1.1", 41234)
pytestmark = pytest.mark.timeout(120 * SCALE)  # the long profile checks SCALE times more

addresses = st.ip_addresses().map(str)
# What a client may put in a header: anything latin-1, including commas, brackets,
# addresses of its choosing and whitespace.
forged = st.one_of(
    st.binary(max_size=200),
    st.lists(st.one_of(addresses, st.text(max_size=20)), max_size=8).map(
        lambda parts: ", ".join(parts).encode("utf-8", "surrogatepass")
    ),
)


def resolve(headers: list[tuple[bytes, bytes]], kind: str, **options: Any) -> dict[str, Any]:
    """The scope the app behind `ForwardedClient(**options)` sees."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    async def never(*_: Any) -> Any:
        raise AssertionError

    scope = {"type": kind, "client": PEER, "scheme": "http", "headers": headers}
    # Nothing on this path waits: one step runs it to the end, without an event loop.
    step = ForwardedClient(app, **options)(scope, never, never)
    with contextlib.suppress(StopIteration):
        step.send(None)
    return seen


@examples(200)
@given(
    forged=st.lists(forged, max_size=3),
    client=addresses,
    load_balancer=addresses,
    hops=st.sampled_from([1, 2]),
    kind=st.sampled_from(["http", "websocket"]),
)
def test_the_entries_our_proxies_appended_are_the_ones_believed(
    forged: list[bytes], client: str, load_balancer: str, hops: int, kind: str
) -> None:
    # The client's own headers come first; Cloud Run's front end appends the address it
    # saw to the last one (and a load balancer in front its own, before that).
    appended = [client] if hops == 1 else [client, load_balancer]
    headers = [(b"x-forwarded-for", value) for value in forged]
    tail = ", ".join(appended).encode()
    if headers:
        name, value = headers[-1]
        headers[-1] = (name, value + b"," + tail)
    else:
        headers.append((b"x-forwarded-for", tail))
    seen = resolve(headers, kind, hops=hops)
    assert seen["client"] == (str(ipaddress.ip_address(client)), 0)


@examples(200)
@given(forged=st.lists(forged, max_size=3), proto=st.binary(max_size=40), hops=st.integers(0, 3))
def test_any_forwarded_headers_give_a_known_scheme_and_never_fail(
    forged: list[bytes], proto: bytes, hops: int
) -> None:
    headers = [(b"x-forwarded-for", value) for value in forged] + [(b"x-forwarded-proto", proto)]
    for kind, schemes in (("http", {"http", "https"}), ("websocket", {"ws", "wss"})):
        seen = resolve(headers, kind, hops=hops, trusted=["169.254.0.0/16"])
        assert seen["scheme"] in schemes | {"http"}
        host, _ = seen["client"]
        assert isinstance(host, str)
