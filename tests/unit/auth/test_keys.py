"""PublicKeyCache: TTL from max-age, bounded refetches, stale keys during an outage."""

from __future__ import annotations

import base64

import pytest

from liveavatar.auth.keys import (
    MAX_TOKEN_CHARS,
    FetchedCerts,
    KeyFetchError,
    PublicKeyCache,
    parse_certs,
    parse_unverified,
)


class FakeFetch:
    def __init__(self, max_age_s: float | None = 600) -> None:
        self.calls = 0
        self.max_age_s = max_age_s
        self.fail = False
        self.keys = {"k1": "PEM-1"}

    def __call__(self, url: str, timeout_s: float) -> FetchedCerts:
        self.calls += 1
        if self.fail:
            raise OSError("connection refused")
        return FetchedCerts(dict(self.keys), self.max_age_s)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def cache(fetch: FakeFetch, clock: Clock, **kw: float) -> PublicKeyCache:
    return PublicKeyCache("http://127.0.0.1:1/certs", fetch=fetch, clock=clock, **kw)


def test_keys_live_as_long_as_max_age_says() -> None:
    fetch, clock = FakeFetch(max_age_s=600), Clock()
    keys = cache(fetch, clock)
    assert keys.keys() == {"k1": "PEM-1"}
    clock.now = 599
    keys.keys()
    assert fetch.calls == 1
    clock.now = 600
    keys.keys()
    assert fetch.calls == 2


@pytest.mark.parametrize(("max_age", "ttl"), [(None, 3600), (1, 60), (10**9, 86400)])
def test_ttl_is_clamped(max_age: float | None, ttl: float) -> None:
    fetch, clock = FakeFetch(max_age_s=max_age), Clock()
    keys = cache(fetch, clock)
    keys.keys()
    clock.now = ttl - 0.5
    keys.keys()
    assert fetch.calls == 1
    clock.now = ttl
    keys.keys()
    assert fetch.calls == 2


def test_unknown_kid_refetch_is_rate_limited() -> None:
    fetch, clock = FakeFetch(), Clock()
    keys = cache(fetch, clock, min_refresh_interval_s=30)
    keys.keys("k1")
    for _ in range(10):
        assert "k2" not in keys.keys("k2")
    assert fetch.calls == 1
    clock.now = 30
    fetch.keys = {"k1": "PEM-1", "k2": "PEM-2"}
    assert keys.keys("k2")["k2"] == "PEM-2"
    assert fetch.calls == 2


def test_outage_keeps_old_keys_for_a_bounded_time_and_backs_off() -> None:
    fetch, clock = FakeFetch(max_age_s=600), Clock()
    keys = cache(fetch, clock, max_stale_s=1000, retry_after_failure_s=5)
    keys.keys()
    fetch.fail = True
    clock.now = 600
    assert keys.keys() == {"k1": "PEM-1"}
    clock.now = 603
    keys.keys()
    assert fetch.calls == 2  # backing off: no attempt within 5 s of a failure
    clock.now = 1601
    with pytest.raises(KeyFetchError):
        keys.keys()


def test_no_keys_and_no_fetch_is_an_error() -> None:
    fetch, clock = FakeFetch(), Clock()
    fetch.fail = True
    keys = cache(fetch, clock)
    with pytest.raises(KeyFetchError):
        keys.keys()
    with pytest.raises(KeyFetchError):  # during the back-off too, without a fetch
        keys.keys()
    assert fetch.calls == 1


def test_an_empty_document_is_a_failed_fetch() -> None:
    fetch, clock = FakeFetch(), Clock()
    fetch.keys = {}
    with pytest.raises(KeyFetchError):
        cache(fetch, clock).keys()


def test_parse_certs_formats() -> None:
    assert parse_certs({"a": "PEM", "b": 3}) == {"a": "PEM"}
    assert parse_certs({"keys": [{"kty": "oct", "kid": "x"}, {"kid": "y", "use": "enc"}]}) == {}
    with pytest.raises(ValueError):
        parse_certs(["not", "an", "object"])


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "..", "a.b.c", "W10.W10.c2ln"])
def test_parse_unverified_rejects_garbage(token: str) -> None:
    with pytest.raises(ValueError):
        parse_unverified(token)


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize("which", ["header", "claims"])
def test_parse_unverified_refuses_json_nested_too_deeply_as_malformed(which: str) -> None:
    # About 6000 levels fit in a token's 8192 characters; Python's parser gives up at
    # about 1000 with RecursionError, which is not a ValueError and escaped every caller.
    deep = _segment(b"[" * 6000)
    plain = _segment(b'{"alg":"RS256","kid":"k1"}')
    token = f"{deep}.{plain}.c2ln" if which == "header" else f"{plain}.{deep}.c2ln"
    assert len(token) <= MAX_TOKEN_CHARS
    with pytest.raises(ValueError, match="nested"):
        parse_unverified(token)
