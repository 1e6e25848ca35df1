"""Anonymous local identities and the verifier chosen by settings."""

from __future__ import annotations

import pytest

from liveavatar.auth import AnonymousVerifier, FirebaseVerifier, build_verifier
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
