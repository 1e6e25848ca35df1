"""The dashboard's IAP guard against a real JWK endpoint on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from liveavatar.auth import AdminIdentity, IapVerifier, dashboard_guard
from liveavatar.errors import CLOSE_FORBIDDEN, Forbidden
from tests.support.auth_certs import IAP_AUDIENCE, CertsServer, FakeAuthSettings, SigningKeys


def iap(certs: CertsServer) -> IapVerifier:
    return IapVerifier(audience=IAP_AUDIENCE, certs_url=certs.url("/iap-jwk"))


def test_valid_assertion_names_the_admin(certs: CertsServer, signing_keys: SigningKeys) -> None:
    identity = iap(certs).verify(signing_keys.iap_token())
    assert identity == AdminIdentity(email="admin@example.com", via="iap")


def test_keys_are_cached(certs: CertsServer, signing_keys: SigningKeys) -> None:
    guard = iap(certs)
    for _ in range(3):
        guard.verify(signing_keys.iap_token())
    assert certs.hits["/iap-jwk"] == 1


def test_guard_reads_the_header_case_insensitively(
    certs: CertsServer, signing_keys: SigningKeys
) -> None:
    settings = FakeAuthSettings(
        environment="production", iap_audience=IAP_AUDIENCE, iap_certs_url=certs.url("/iap-jwk")
    )
    guard = dashboard_guard(settings)
    headers = {"X-Goog-IAP-JWT-Assertion": signing_keys.iap_token()}
    assert guard(headers).email == "admin@example.com"
    with pytest.raises(Forbidden):
        guard({"x-admin-token": "anything"})  # no admin-token back door behind IAP


@pytest.mark.parametrize(
    "make",
    [
        lambda k: None,
        lambda k: "",
        lambda k: "garbage",
        lambda k: k.iap_token(audience="/projects/1/apps/someone-else"),
        lambda k: k.iap_token(iss="https://accounts.google.com"),
        lambda k: k.iap_token(exp=int(time.time()) - 600, iat=int(time.time()) - 1200),
        lambda k: k.iap_token(email=None),
        lambda k: k.firebase_token(),  # RS256 from another system: wrong algorithm
    ],
    ids=["missing", "empty", "garbage", "audience", "issuer", "expired", "no-email", "rs256"],
)
def test_bad_assertions_are_forbidden(
    certs: CertsServer, signing_keys: SigningKeys, make: object
) -> None:
    token = make(signing_keys)  # type: ignore[operator]
    with pytest.raises(Forbidden) as info:
        iap(certs).verify(token)
    assert info.value.fault.close_code == CLOSE_FORBIDDEN
    if token:
        assert token not in str(info.value)
