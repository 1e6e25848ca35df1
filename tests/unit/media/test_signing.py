"""Which signer a set of credentials gets, and local-key signing."""

from __future__ import annotations

from urllib.parse import urlsplit

import google.cloud.storage as storage  # type: ignore[import-untyped]
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from liveavatar.media import MediaSigningError
from liveavatar.media.gcs import GcsMediaStore
from liveavatar.media.signing import IamSigner, LocalKeySigner, SigningCredentials, signer_for

from .support import service_account_info, verify_v4_signed_url


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_a_key_signs_locally(key: rsa.RSAPrivateKey) -> None:
    info = service_account_info(key, "media@demo-test.iam.gserviceaccount.com")
    signer = LocalKeySigner.from_service_account_info(info)
    assert signer.email == "media@demo-test.iam.gserviceaccount.com"
    signature = signer.sign_bytes(b"hello")
    key.public_key().verify(signature, b"hello", padding.PKCS1v15(), hashes.SHA256())
    adapted = SigningCredentials(signer)
    assert adapted.signer_email == signer.email
    assert adapted.sign_bytes("hello") == signature


def test_signer_choice(key: rsa.RSAPrivateKey) -> None:
    email = "media@demo-test.iam.gserviceaccount.com"
    info = service_account_info(key, email)
    creds = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
    assert isinstance(signer_for(creds), LocalKeySigner)
    assert isinstance(signer_for(creds, email), LocalKeySigner)
    other = signer_for(creds, "other@demo-test.iam.gserviceaccount.com")
    assert isinstance(other, IamSigner)  # signing as another account goes through IAM

    # Token-only credentials (what Cloud Run's metadata server gives) sign through IAM.
    token_only = user_credentials.Credentials(token="t")  # type: ignore[no-untyped-call]
    iam = signer_for(token_only, email, iam_endpoint="http://127.0.0.1:1/")
    assert isinstance(iam, IamSigner)
    assert iam.endpoint == "http://127.0.0.1:1"
    assert iam.email == email

    with pytest.raises(MediaSigningError, match="anonymous"):
        signer_for(AnonymousCredentials())  # type: ignore[no-untyped-call]


def test_iam_signer_without_an_email_says_what_to_set() -> None:
    token_only = user_credentials.Credentials(token="t")  # type: ignore[no-untyped-call]
    with pytest.raises(MediaSigningError, match="MEDIA_SIGNER_EMAIL"):
        _ = IamSigner(token_only).email


async def test_v4_urls_signed_offline_verify_against_the_public_key(
    key: rsa.RSAPrivateKey,
) -> None:
    email = "media@demo-test.iam.gserviceaccount.com"
    client = storage.Client(
        project="demo-test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": "http://127.0.0.1:1"},  # never contacted
    )
    signer = LocalKeySigner.from_service_account_info(service_account_info(key, email))
    store = GcsMediaStore("avatar-videos", client=client, signer=signer, default_ttl_s=600)
    url = await store.signed_url("idle/a.mp4")
    query = verify_v4_signed_url(url, key.public_key())
    assert urlsplit(url).path == "/avatar-videos/idle/a.mp4"
    assert query["X-Goog-Credential"].startswith(f"{email}/")
    assert query["X-Goog-Expires"] == "600"
    assert await store.signed_url("idle/a.mp4") == url  # reused while fresh

    put_url = await store.signed_url("idle/new.mp4", method="PUT", ttl_s=60)
    verify_v4_signed_url(put_url, key.public_key(), method="PUT")
    with pytest.raises(InvalidSignature):
        verify_v4_signed_url(put_url, key.public_key(), method="GET")
    with pytest.raises(InvalidSignature):
        verify_v4_signed_url(url.replace("idle/a.mp4", "idle/b.mp4"), key.public_key())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidSignature):
        verify_v4_signed_url(url, other.public_key())
