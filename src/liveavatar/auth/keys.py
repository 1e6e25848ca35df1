"""Public signing keys fetched from a certs URL and cached, plus unverified JWT parsing.

Firebase publishes its token-signing certificates as a `{kid: PEM certificate}` map and IAP
publishes its keys as a JWKS (`{"keys": [...]}`). `PublicKeyCache` reads either format into
one `{kid: PEM}` map that `google.auth.jwt.decode` accepts, and caches it for as long as the
response's `Cache-Control: max-age` says (clamped), because google-auth's own
`id_token.verify_token` refetches the certificates on every call.

The cache is synchronous and thread-safe: the Firebase verifier calls it from a worker thread
(off the event loop) and the dashboard guard from Streamlit's script thread.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import google.auth.jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

log = logging.getLogger(__name__)

MAX_TOKEN_CHARS = 8192  # real Firebase/IAP tokens are ~1 KB; bigger ones are refused unparsed
_MAX_CERTS_BYTES = 1 << 20
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d+)", re.IGNORECASE)


class KeyFetchError(RuntimeError):
    """The certs URL could not be read and no usable cached keys remain."""


@dataclass(frozen=True)
class FetchedCerts:
    """One HTTP response from a certs URL: the JSON body and its Cache-Control max-age."""

    body: Any
    max_age_s: float | None


Fetcher = Callable[[str, float], FetchedCerts]


def fetch_certs(url: str, timeout_s: float) -> FetchedCerts:
    """GET a certs URL (blocking, bounded by `timeout_s`) and parse its JSON body."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        exc.close()  # an HTTPError holds the open response; close it, keep only the status
        raise KeyFetchError(f"certs URL answered HTTP {exc.code}") from None
    with response:
        if response.status != 200:
            raise KeyFetchError(f"certs URL answered HTTP {response.status}")
        raw = response.read(_MAX_CERTS_BYTES + 1)
        cache_control = response.headers.get("Cache-Control", "")
    if len(raw) > _MAX_CERTS_BYTES:
        raise KeyFetchError("certs document is too large")
    match = _MAX_AGE.search(cache_control)
    return FetchedCerts(json.loads(raw), float(match.group(1)) if match else None)


def _b64url_int(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError("JWK coordinate is not a string")
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def _jwk_to_pem(jwk: Mapping[str, Any]) -> str:
    """One RSA or P-256 JWK as a PEM public key (what google-auth's verifiers load)."""
    kty = jwk.get("kty")
    if kty == "RSA":
        public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey = rsa.RSAPublicNumbers(
            _b64url_int(jwk.get("e")), _b64url_int(jwk.get("n"))
        ).public_key()
    elif kty == "EC" and jwk.get("crv") == "P-256":
        public = ec.EllipticCurvePublicNumbers(
            _b64url_int(jwk.get("x")), _b64url_int(jwk.get("y")), ec.SECP256R1()
        ).public_key()
    else:
        raise ValueError(f"unsupported JWK key type {kty!r}")
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def parse_certs(body: Any) -> dict[str, str]:
    """A certs document (x509 `{kid: PEM}` map or JWKS) as a `{kid: PEM}` map."""
    if not isinstance(body, dict):
        raise ValueError("certs document is not a JSON object")
    if "keys" in body:
        keys: dict[str, str] = {}
        for jwk in body["keys"] if isinstance(body["keys"], list) else []:
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            kid = jwk.get("kid")
            if isinstance(kid, str) and kid:
                try:
                    keys[kid] = _jwk_to_pem(jwk)
                except (ValueError, binascii.Error):
                    # One odd key (a new algorithm) must not take the others down with it.
                    log.warning(
                        "skipping an unusable key in the certs document", extra={"kid": kid}
                    )
        return keys
    return {k: v for k, v in body.items() if isinstance(k, str) and isinstance(v, str)}


class PublicKeyCache:
    """The `{kid: PEM}` keys behind one certs URL, refetched only when needed.

    Keys are reused until the response's max-age runs out (clamped to `[min_ttl_s,
    max_ttl_s]`, `default_ttl_s` without a header). A token whose `kid` is unknown triggers
    one early refetch (keys rotate), at most once per `min_refresh_interval_s`, so tokens with
    made-up key ids cannot make us hammer the URL. If a refetch fails, the old keys are kept
    for up to `max_stale_s` past their expiry; failures are retried after `retry_after_failure_s`.
    """

    def __init__(
        self,
        url: str,
        *,
        fetch: Fetcher = fetch_certs,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 5.0,
        default_ttl_s: float = 3600.0,
        min_ttl_s: float = 60.0,
        max_ttl_s: float = 86400.0,
        min_refresh_interval_s: float = 30.0,
        retry_after_failure_s: float = 5.0,
        max_stale_s: float = 86400.0,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._timeout_s = timeout_s
        self._default_ttl_s = default_ttl_s
        self._min_ttl_s = min_ttl_s
        self._max_ttl_s = max_ttl_s
        self._min_refresh_s = min_refresh_interval_s
        self._retry_after_failure_s = retry_after_failure_s
        self._max_stale_s = max_stale_s
        self._lock = threading.Lock()
        self._keys: dict[str, str] = {}
        self._expires_at = float("-inf")
        self._fetched_at = float("-inf")
        self._next_attempt_at = float("-inf")
        self.fetches = 0  # successful fetches, for tests and metrics

    def keys(self, kid: str | None = None) -> Mapping[str, str]:
        """The current keys, fetching first if stale or if `kid` is unknown (blocking)."""
        with self._lock:
            now = self._clock()
            stale = now >= self._expires_at
            unknown = kid is not None and kid not in self._keys
            if (stale or (unknown and now - self._fetched_at >= self._min_refresh_s)) and (
                now >= self._next_attempt_at
            ):
                self._refresh(now)
            if not self._keys or now - self._expires_at > self._max_stale_s:
                raise KeyFetchError("signing keys are unavailable")
            return dict(self._keys)

    def _refresh(self, now: float) -> None:
        try:
            fetched = self._fetch(self.url, self._timeout_s)
            keys = parse_certs(fetched.body)
            if not keys:
                raise ValueError("certs document holds no keys")
        except Exception as exc:
            self._next_attempt_at = now + self._retry_after_failure_s
            usable = bool(self._keys) and now - self._expires_at <= self._max_stale_s
            # The URL and the error class only: the body is not ours to log.
            log.warning(
                "could not refresh signing keys",
                extra={"certs_url": self.url, "error": type(exc).__name__, "kept_old": usable},
            )
            if not usable:
                raise KeyFetchError("signing keys are unavailable") from exc
            return
        ttl = self._default_ttl_s if fetched.max_age_s is None else fetched.max_age_s
        self._keys = keys
        self._fetched_at = now
        self._expires_at = now + min(max(ttl, self._min_ttl_s), self._max_ttl_s)
        self._next_attempt_at = float("-inf")
        self.fetches += 1


@dataclass(frozen=True)
class UnverifiedJwt:
    """A JWT's header and claims, parsed but NOT verified: for choosing keys and messages."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


def parse_unverified(token: str) -> UnverifiedJwt:
    """Split and decode a compact JWT without checking anything; ValueError if malformed."""
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError("token too long")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a compact JWT")
    try:
        header, claims = (
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2]
        )
    except (ValueError, binascii.Error) as exc:
        raise ValueError("undecodable JWT segment") from exc
    except RecursionError:
        # JSON nested thousands deep fits in a token's 8192 characters, and Python's parser
        # refuses it with RecursionError, not ValueError: without this it escaped every
        # caller's `except ValueError` and a crafted token ended a session as `internal`.
        raise ValueError("JWT segment nested too deeply") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("JWT segments are not JSON objects")
    return UnverifiedJwt(header, claims)


def decode_verified(
    token: str, *, kid: str, pem: str, audience: str, clock_skew_s: int
) -> Mapping[str, Any]:
    """google-auth's signature, `iat`/`exp` and `aud` checks with one known key.

    Raises ValueError (google-auth's errors subclass it) or TypeError on any failure; the
    messages may quote the token, so callers must not pass them on.
    """
    claims = google.auth.jwt.decode(  # type: ignore[no-untyped-call]
        token, certs={kid: pem}, audience=audience, clock_skew_in_seconds=clock_skew_s
    )
    if not isinstance(claims, Mapping):
        raise ValueError("JWT payload is not an object")
    return claims
