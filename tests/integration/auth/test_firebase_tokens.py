"""Firebase ID tokens verified against a real certs endpoint on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from liveavatar.auth import FirebaseVerifier, Identity, PublicKeyCache, VerifierUnavailable
from liveavatar.errors import (
    CLOSE_FORBIDDEN,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    Forbidden,
    Unauthorized,
)
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys


def verifier(certs: CertsServer, path: str = "/x509", **kwargs: object) -> FirebaseVerifier:
    return FirebaseVerifier(project_id=PROJECT, certs_url=certs.url(path), **kwargs)  # type: ignore[arg-type]


async def refused(v: FirebaseVerifier, token: str | None) -> Unauthorized:
    with pytest.raises(Unauthorized) as info:
        await v.verify(token)
    assert info.value.fault.code == "unauthorized"
    assert info.value.fault.close_code == CLOSE_UNAUTHORIZED
    if token:
        # The token is a credential: neither the message nor a chained cause may carry it.
        assert token not in str(info.value)
        assert info.value.__cause__ is None or token not in str(info.value.__cause__)
    return info.value


@pytest.mark.parametrize("path", ["/x509", "/jwks"])
async def test_valid_token_gives_the_identity(
    certs: CertsServer, signing_keys: SigningKeys, path: str
) -> None:
    identity = await verifier(certs, path).verify(signing_keys.firebase_token())
    assert identity == Identity(uid="user-123", email="ada@example.com", anonymous=False)


async def test_anonymous_sign_in_is_flagged(certs: CertsServer, signing_keys: SigningKeys) -> None:
    token = signing_keys.firebase_token(
        email=None, firebase={"sign_in_provider": "anonymous"}, sub="guest-9"
    )
    identity = await verifier(certs).verify(token)
    assert identity == Identity(uid="guest-9", email=None, anonymous=True)


async def test_anonymous_sign_in_is_refused_when_guests_are_off(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    guest = signing_keys.firebase_token(
        email=None, firebase={"sign_in_provider": "anonymous"}, sub="guest-9"
    )
    strict = verifier(certs, allow_anonymous=False)
    with pytest.raises(Forbidden, match="guest") as info:
        await strict.verify(guest)
    assert info.value.fault.close_code == CLOSE_FORBIDDEN
    # A Google account is still welcome, and a token for another project still refused.
    assert not (await strict.verify(signing_keys.firebase_token())).anonymous
    other = signing_keys.firebase_token(
        aud="other-project", firebase={"sign_in_provider": "anonymous"}
    )
    with pytest.raises(Unauthorized, match="another project"):
        await strict.verify(other)


@pytest.mark.parametrize("token", [None, "", "   "])
async def test_missing_token_is_refused(certs: CertsServer, token: str | None) -> None:
    error = await refused(verifier(certs), token)
    assert "no ID token" in str(error)
    assert certs.total_hits() == 0  # refused before any network work


@pytest.mark.parametrize(
    "token", ["not-a-jwt", "a.b.c", "x" * 9000, "e30.e30.", "bm90IGpzb24.e30.c2ln"]
)
async def test_malformed_token_is_refused(certs: CertsServer, token: str) -> None:
    assert "malformed" in str(await refused(verifier(certs), token))


async def test_token_signed_by_another_key_is_refused(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    error = await refused(verifier(certs), signing_keys.firebase_token(forged=True))
    assert "signature" in str(error)


async def test_unsigned_token_is_refused(certs: CertsServer, signing_keys: SigningKeys) -> None:
    # What the Auth emulator issues: alg "none" and no signature.
    def b64(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(signing_keys.firebase_claims())}.sig"
    assert "algorithm" in str(await refused(verifier(certs), token))


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"aud": "someone-elses-project"}, "audience"),
        ({"iss": "https://securetoken.google.com/someone-else"}, "issuer"),
        ({"iss": "https://accounts.google.com"}, "issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "not valid yet"),
        ({"auth_time": int(time.time()) + 3600}, "sign-in time"),
        ({"sub": ""}, "user id"),
        ({"sub": "u" * 129}, "user id"),
        ({"exp": None}, "expiry"),
    ],
)
async def test_bad_claims_are_refused(
    certs: CertsServer, signing_keys: SigningKeys, claims: dict[str, Any], words: str
) -> None:
    error = await refused(verifier(certs), signing_keys.firebase_token(**claims))
    assert words in str(error)


async def test_small_clock_skew_is_tolerated(certs: CertsServer, signing_keys: SigningKeys) -> None:
    token = signing_keys.firebase_token(iat=int(time.time()) + 5)
    assert (await verifier(certs, clock_skew_s=10).verify(token)).uid == "user-123"


async def test_certificates_are_fetched_once_and_cached(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    v = verifier(certs)
    for _ in range(3):
        await v.verify(signing_keys.firebase_token())
    await refused(v, signing_keys.firebase_token(forged=True))
    assert certs.hits["/x509"] == 1


async def test_unknown_key_id_refetches_at_most_once_per_interval(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    now = [1000.0]
    keys = PublicKeyCache(certs.url("/x509"), clock=lambda: now[0], min_refresh_interval_s=30)
    v = FirebaseVerifier(project_id=PROJECT, keys=keys)
    await v.verify(signing_keys.firebase_token())
    for _ in range(5):  # made-up key ids cannot make us hammer the certs URL
        assert "unknown key" in str(await refused(v, signing_keys.firebase_token(kid="rotated")))
    assert certs.hits["/x509"] == 1
    now[0] += 31  # keys rotate: after the interval an unknown kid triggers one refetch
    await refused(v, signing_keys.firebase_token(kid="rotated"))
    assert certs.hits["/x509"] == 2


async def test_cached_keys_survive_a_certs_outage(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    now = [0.0]
    keys = PublicKeyCache(certs.url("/x509"), clock=lambda: now[0])
    v = FirebaseVerifier(project_id=PROJECT, keys=keys)
    await v.verify(signing_keys.firebase_token())
    certs.fail = True
    now[0] += 7200  # past max-age: a refetch is attempted, fails, and the old keys serve on
    assert (await v.verify(signing_keys.firebase_token())).uid == "user-123"
    assert certs.hits["/x509"] == 2


async def test_certs_outage_without_keys_means_try_again(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    certs.fail = True
    with pytest.raises(VerifierUnavailable) as info:
        await verifier(certs).verify(signing_keys.firebase_token())
    assert info.value.fault.close_code == CLOSE_TRY_AGAIN


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


async def test_a_silent_certs_url_is_a_bounded_wait(
    silent_port: int, signing_keys: SigningKeys
) -> None:
    keys = PublicKeyCache(f"http://127.0.0.1:{silent_port}/x509", timeout_s=0.2)
    with pytest.raises(VerifierUnavailable):
        await FirebaseVerifier(project_id=PROJECT, keys=keys).verify(signing_keys.firebase_token())
