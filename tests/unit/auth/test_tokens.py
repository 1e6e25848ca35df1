"""Anonymous local identities, the verifier chosen by settings, and the claim checks."""

from __future__ import annotations

import pytest

from liveavatar.auth import AnonymousVerifier, FirebaseVerifier, build_verifier
from liveavatar.auth.tokens import check_claims
from liveavatar.errors import Unauthorized
from tests.support.auth_certs import FakeAuthSettings


async def test_anonymous_identity_is_stable_per_address() -> None:
    verifier = AnonymousVerifier()
    a1 = await verifier.verify(None, client_ip="192.0.2.10")
    a2 = await verifier.verify("ignored-token", client_ip="192.0.2.10")
    b = await verifier.verify(None, client_ip="192.0.2.11")
    assert a1 == a2 and a1.uid != b.uid
    assert a1.uid.startswith("local-") and "192.0.2.10" not in a1.uid
    assert a1.anonymous and a1.email is None
    assert (await verifier.verify(None)).uid == "local-anonymous"


def test_build_verifier_follows_auth_enabled() -> None:
    assert isinstance(build_verifier(FakeAuthSettings()), AnonymousVerifier)
    firebase = build_verifier(FakeAuthSettings(auth_enabled=True, firebase_project_id="fb-proj"))
    assert isinstance(firebase, FirebaseVerifier)
    assert firebase.issuer == "https://securetoken.google.com/fb-proj"
    fallback = build_verifier(FakeAuthSettings(auth_enabled=True, project_id="gcp-proj"))
    assert isinstance(fallback, FirebaseVerifier) and fallback.project_id == "gcp-proj"
    with pytest.raises(ValueError):
        build_verifier(FakeAuthSettings(auth_enabled=True, project_id=None))


CLAIMS = {
    "aud": "fb-proj",
    "iss": "https://securetoken.google.com/fb-proj",
    "sub": "ada",
    "iat": 1_000.0,
    "exp": 4_000.0,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("exp", float("inf")),  # what Python's JSON parser makes of `Infinity` or 1e400
        ("exp", float("nan")),
        ("exp", 10**400),  # an integer no float can hold
        ("iat", float("-inf")),
        ("auth_time", float("nan")),
    ],
    ids=["exp-inf", "exp-nan", "exp-10**400", "iat--inf", "auth_time-nan"],
)
def test_a_time_claim_that_is_not_a_finite_number_is_refused(field: str, value: object) -> None:
    # Before: an `exp` of Infinity passed (a sign-in that never lapses, for a verifier that
    # trusts the claims, as the Auth emulator's does) and one of 10**400 raised
    # OverflowError, which ended the session as `internal` instead of `unauthorized`.
    with pytest.raises(Unauthorized):
        check_claims({**CLAIMS, field: value}, project_id="fb-proj", skew_s=10, now=2_000.0)


def test_finite_times_still_pass() -> None:
    check_claims(CLAIMS, project_id="fb-proj", skew_s=10, now=2_000.0)
    check_claims({**CLAIMS, "exp": 4_000}, project_id="fb-proj", skew_s=10, now=2_000.0)
