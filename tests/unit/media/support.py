"""Test helpers: a locally generated service-account key, and an independent check of a
Cloud Storage v4 signed URL's signature (the storage emulator does not check them)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PROJECT = "demo-test"


def service_account_info(
    key: rsa.RSAPrivateKey, email: str, *, token_uri: str = "http://127.0.0.1:1/token"
) -> dict[str, Any]:
    """A service-account JSON key around `key`; `token_uri` stays on loopback."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


def _encode(value: str) -> str:
    # RFC 3986 unreserved characters stay as they are; everything else is %XX.
    return quote(value, safe="-_.~")


def verify_v4_signed_url(
    url: str, public_key: rsa.RSAPublicKey, *, method: str = "GET"
) -> dict[str, str]:
    """Recompute the v4 canonical request and string-to-sign of `url` (per Cloud Storage's
    signed-URL spec) and check `X-Goog-Signature` with `public_key`.

    Raises `cryptography.exceptions.InvalidSignature` on a bad signature; returns the query
    parameters otherwise.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True))
    signature = bytes.fromhex(query.pop("X-Goog-Signature"))
    if query["X-Goog-Algorithm"] != "GOOG4-RSA-SHA256":
        raise ValueError(f"unexpected algorithm {query['X-Goog-Algorithm']}")
    signed_headers = query["X-Goog-SignedHeaders"]
    if signed_headers != "host":
        raise ValueError(f"this checker knows only the host header, not {signed_headers}")
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query.items()))
    canonical_request = "\n".join(
        [
            method,
            parts.path,
            canonical_query,
            f"host:{parts.netloc}\n",
            signed_headers,
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
    return query
