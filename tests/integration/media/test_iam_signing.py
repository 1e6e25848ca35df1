"""Signing without a private key (Cloud Run): IAM signBlob through a local stand-in.

The credentials here are token-only (like Cloud Run's metadata-server credentials): they
refresh against the stand-in's token endpoint, and the stand-in signs with a key made in
the test, so the URL must verify against that key's public half.
"""

from __future__ import annotations

import google.cloud.storage as storage  # type: ignore[import-untyped]
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from google.oauth2 import credentials as oauth2

from liveavatar.media import MediaSigningError
from liveavatar.media.gcs import GcsMediaStore
from liveavatar.media.signing import IamSigner
from tests.support.procs import free_port
from tests.unit.media.support import PROJECT, verify_v4_signed_url

from .conftest import Bucket, IamStandIn

RUNTIME_EMAIL = "backend-runtime@demo-test.iam.gserviceaccount.com"
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 32  # an MP4 box header, then filler


def token_only_credentials(standin: IamStandIn) -> oauth2.Credentials:
    """Credentials with no key: an access token obtained by refresh from the stand-in."""
    return oauth2.Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token="refresh-me",
        token_uri=f"{standin.url}/token",
        client_id="client",
        client_secret="client-secret",
    )


async def test_keyless_credentials_sign_through_iam_signblob(
    bucket: Bucket, iam_standin: IamStandIn, sa_key: rsa.RSAPrivateKey
) -> None:
    credentials = token_only_credentials(iam_standin)
    # As on Cloud Run: the same keyless credentials for data and signing.
    client = storage.Client(project=PROJECT, credentials=credentials)
    store = GcsMediaStore(
        bucket.name, client=client, signer_email=RUNTIME_EMAIL, iam_endpoint=iam_standin.url
    )
    await store.put("idle/a.mp4", CLIP, "video/mp4")

    url = await store.signed_url("idle/a.mp4", ttl_s=900)

    # The stand-in was asked, as the runtime account, with the refreshed access token.
    assert iam_standin.tokens_issued, "the credentials were refreshed"
    [request] = iam_standin.sign_requests
    assert request["email"] == RUNTIME_EMAIL
    # (The storage client may refresh concurrently from its own background thread, so
    # any token the stand-in issued is the right one.)
    assert request["authorization"] in {f"Bearer {t}" for t in iam_standin.tokens_issued}
    assert request["payload"].startswith(b"GOOG4-RSA-SHA256\n")
    # ...and the URL it produced verifies against the signing key and serves the bytes.
    query = verify_v4_signed_url(url, sa_key.public_key())
    assert query["X-Goog-Credential"].startswith(f"{RUNTIME_EMAIL}/")
    assert query["X-Goog-Expires"] == "900"
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    assert (response.status_code, response.content) == (200, CLIP)

    assert await store.signed_url("idle/a.mp4", ttl_s=900) == url
    assert len(iam_standin.sign_requests) == 1, "a fresh URL is reused, not re-signed"


async def test_iam_throttling_is_retried_and_refusal_is_a_clear_error(
    bucket: Bucket, iam_standin: IamStandIn, sa_key: rsa.RSAPrivateKey
) -> None:
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    signer = IamSigner(token_only_credentials(iam_standin), RUNTIME_EMAIL, endpoint=iam_standin.url)
    store = GcsMediaStore(bucket.name, client=client, signer=signer)

    iam_standin.fail_with = [503]
    url = await store.signed_url("idle/a.mp4")
    verify_v4_signed_url(url, sa_key.public_key())
    assert len(iam_standin.sign_requests) == 2

    iam_standin.fail_with = [403]
    with pytest.raises(MediaSigningError, match="HTTP 403"):
        await store.signed_url("idle/b.mp4")


async def test_unreachable_iam_is_a_clear_error(bucket: Bucket, iam_standin: IamStandIn) -> None:
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    signer = IamSigner(
        token_only_credentials(iam_standin),
        RUNTIME_EMAIL,
        endpoint=f"http://127.0.0.1:{free_port()}",  # nobody listens
        timeout_s=2,
    )
    store = GcsMediaStore(bucket.name, client=client, signer=signer)
    with pytest.raises(MediaSigningError, match="unreachable"):
        await store.signed_url("idle/a.mp4")
