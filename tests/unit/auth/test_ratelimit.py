"""Connection rate limit (window math on an injected clock) and the session cap."""

from __future__ import annotations

import pytest

from liveavatar.auth import ConnectionRateLimited, ConnectionRateLimiter, SessionCap
from liveavatar.auth.ratelimit import TooManySessions, address_key
from liveavatar.errors import CLOSE_RATE_LIMITED, RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_seeds_limit_allows_a_burst_of_100_then_one_per_interval() -> None:
    clock = Clock()
    limiter = ConnectionRateLimiter(100, 60, clock=clock)
    for _ in range(100):
        limiter.check("203.0.113.7")
    with pytest.raises(ConnectionRateLimited) as info:
        limiter.check("203.0.113.7")
    assert info.value.retry_after_s == pytest.approx(0.6)
    assert "retry in 1 s" in str(info.value)
    assert info.value.fault.code == "rate_limited"
    assert info.value.fault.close_code == CLOSE_RATE_LIMITED
    clock.now += 0.6  # one token back
    limiter.check("203.0.113.7")
    with pytest.raises(RateLimited):
        limiter.check("203.0.113.7")


def test_refusals_do_not_extend_the_wait() -> None:
    clock = Clock()
    limiter = ConnectionRateLimiter(2, 10, clock=clock)
    limiter.check("a")
    limiter.check("a")
    for _ in range(50):
        with pytest.raises(ConnectionRateLimited):
            limiter.check("a")
    clock.now += 5
    limiter.check("a")


def test_full_burst_is_back_after_the_window() -> None:
    clock = Clock()
    limiter = ConnectionRateLimiter(3, 60, clock=clock)
    for _ in range(3):
        limiter.check("a")
    with pytest.raises(ConnectionRateLimited) as info:
        limiter.check("a")
    assert info.value.retry_after_s == pytest.approx(20)
    clock.now += 60
    for _ in range(3):
        limiter.check("a")


def test_addresses_are_limited_independently() -> None:
    limiter = ConnectionRateLimiter(1, 60, clock=Clock())
    limiter.check("198.51.100.1")
    limiter.check("198.51.100.2")
    with pytest.raises(ConnectionRateLimited):
        limiter.check("198.51.100.1")


def test_ipv6_is_keyed_by_its_64_and_mapped_ipv4_by_the_ipv4() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("testclient") == "testclient"
    limiter = ConnectionRateLimiter(1, 60, clock=Clock())
    limiter.check("2001:db8::1")
    with pytest.raises(ConnectionRateLimited):
        limiter.check("2001:db8::ffff")


def test_memory_is_bounded_by_forgetting_the_least_recent_address() -> None:
    limiter = ConnectionRateLimiter(1, 60, clock=Clock(), max_keys=3)
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"):
        limiter.check(ip)
    assert len(limiter) == 3
    limiter.check("10.0.0.1")  # forgotten, so allowed again
    with pytest.raises(ConnectionRateLimited):
        limiter.check("10.0.0.4")


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        ConnectionRateLimiter(0, 60)
    with pytest.raises(ValueError):
        SessionCap(0)


def test_session_cap_acquire_and_release() -> None:
    cap = SessionCap(max_per_user=2)
    first = cap.acquire("u1")
    second = cap.acquire("u1")
    cap.acquire("u2").release()
    with pytest.raises(TooManySessions) as info:
        cap.acquire("u1")
    assert "too many concurrent sessions" in str(info.value)
    assert info.value.fault.close_code == CLOSE_RATE_LIMITED
    first.release()
    first.release()  # a second release must not free someone else's slot
    assert cap.held("u1") == 1
    cap.acquire("u1").release()
    second.release()
    assert cap.held("u1") == 0
    assert cap._open == {}  # no entries linger for users without sessions


def test_session_slot_is_released_on_exception() -> None:
    cap = SessionCap(max_per_user=1)
    with pytest.raises(RuntimeError), cap.acquire("u1"):
        raise RuntimeError("bridge crashed")
    cap.acquire("u1").release()


async def test_session_slot_as_async_context_manager() -> None:
    cap = SessionCap(max_per_user=1)
    with pytest.raises(RuntimeError):
        async with cap.acquire("u1"):
            assert cap.held("u1") == 1
            raise RuntimeError("live failed")
    assert cap.held("u1") == 0
