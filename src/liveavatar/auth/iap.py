"""The dashboard's guard: the IAP JWT in production, an admin token by default.

Behind Identity-Aware Proxy every request carries `x-goog-iap-jwt-assertion`, an ES256 JWT
signed by a key from `https://www.gstatic.com/iap/verify/public_key-jwk`, with `iss`
`https://cloud.google.com/iap` and `aud` the backend service
(`/projects/<number>/global/backendServices/<id>`) or App Engine app
(`/projects/<number>/apps/<project-id>`). Checking it in the app too matters: without the
check, anything that reaches the service by another route (a misconfigured ingress) is admin.

Locally there is no IAP: the admin token (`ADMIN_TOKEN`) is accepted from the
`x-admin-token` header, `Authorization: Bearer`, or the `admin_token` query parameter, and
compared in constant time. Every refusal is `liveavatar.errors.Forbidden`.

The guard is synchronous because Streamlit scripts are; the first call may fetch keys.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import google.auth.exceptions
from pydantic import SecretStr

from liveavatar.errors import Forbidden

from .keys import KeyFetchError, PublicKeyCache, decode_verified, parse_unverified

log = logging.getLogger(__name__)

IAP_CERTS_URL = "https://www.gstatic.com/iap/verify/public_key-jwk"
IAP_ISSUER = "https://cloud.google.com/iap"
IAP_HEADER = "x-goog-iap-jwt-assertion"
ADMIN_TOKEN_HEADER = "x-admin-token"
ADMIN_TOKEN_QUERY = "admin_token"
_MAX_ADMIN_TOKEN_BYTES = 1024


@dataclass(frozen=True)
class AdminIdentity:
    """Who opened the dashboard, and how that was established."""

    email: str | None
    via: Literal["iap", "admin-token"]


class DashboardGuard(Protocol):
    """Checks one request's headers (and query parameters); returns the admin or raises."""

    def __call__(
        self, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> AdminIdentity:
        """The admin identity, or `Forbidden`."""
        ...


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from any mapping (dicts, Streamlit, Starlette)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


class IapVerifier:
    """Verifies IAP's signed header for one audience; `Forbidden` on any problem."""

    def __init__(
        self,
        *,
        audience: str,
        certs_url: str = IAP_CERTS_URL,
        clock_skew_s: int = 30,
        keys: PublicKeyCache | None = None,
    ) -> None:
        if not audience:
            raise ValueError("IapVerifier needs an audience")
        self.audience = audience
        self.keys = PublicKeyCache(certs_url) if keys is None else keys
        self._skew = clock_skew_s

    def verify(self, assertion: str | None) -> AdminIdentity:
        """Check the assertion (blocking: may fetch keys); the caller's email on success."""
        if not assertion:
            raise Forbidden("this dashboard is only reachable through Identity-Aware Proxy")
        try:
            header = parse_unverified(assertion).header
        except ValueError:
            raise Forbidden("the IAP assertion is malformed") from None
        kid = header.get("kid")
        if header.get("alg") != "ES256" or not isinstance(kid, str) or not kid:
            raise Forbidden("the IAP assertion has an unexpected algorithm or key id")
        try:
            keys = self.keys.keys(kid)
        except KeyFetchError as exc:
            raise Forbidden("the IAP keys are unavailable; retry shortly") from exc
        if kid not in keys:
            raise Forbidden("the IAP assertion is signed by an unknown key")
        try:
            claims = decode_verified(
                assertion, kid=kid, pem=keys[kid], audience=self.audience, clock_skew_s=self._skew
            )
        except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
            # Signature, audience, expiry: all one answer; the detail goes to the log only.
            log.warning("IAP assertion refused", extra={"reason": type(exc).__name__})
            raise Forbidden("the IAP assertion is invalid") from None  # message may quote it
        if claims.get("iss") != IAP_ISSUER:
            raise Forbidden("the IAP assertion has the wrong issuer")
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise Forbidden("the IAP assertion names no user")
        # IAP prefixes emails with the identity source ("accounts.google.com:alice@...").
        return AdminIdentity(email=email.rpartition(":")[2], via="iap")

    def __call__(
        self, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> AdminIdentity:
        """Guard form: read `x-goog-iap-jwt-assertion` from the request headers."""
        return self.verify(header_value(headers, IAP_HEADER))


class AdminTokenGuard:
    """The local default: one shared admin token, compared in constant time."""

    def __init__(self, token: SecretStr | None) -> None:
        value = token.get_secret_value() if token is not None else ""
        self._token = value.encode("utf-8") if value else None

    def __call__(
        self, headers: Mapping[str, str], query: Mapping[str, str] | None = None
    ) -> AdminIdentity:
        """Accept the request if it carries the admin token; `Forbidden` otherwise."""
        if self._token is None:
            raise Forbidden("the dashboard is locked: set ADMIN_TOKEN to open it")
        offered = header_value(headers, ADMIN_TOKEN_HEADER)
        if not offered:
            auth = header_value(headers, "authorization") or ""
            scheme, _, rest = auth.partition(" ")
            offered = rest.strip() if scheme.lower() == "bearer" else None
        if not offered and query is not None:
            offered = query.get(ADMIN_TOKEN_QUERY)
        if not offered:
            raise Forbidden("an admin token is required")
        candidate = offered.encode("utf-8")[:_MAX_ADMIN_TOKEN_BYTES]
        if not hmac.compare_digest(candidate, self._token):
            raise Forbidden("the admin token is wrong")
        return AdminIdentity(email=None, via="admin-token")


class GuardSettings(Protocol):
    """The settings `dashboard_guard` reads."""

    @property
    def environment(self) -> str: ...
    @property
    def iap_audience(self) -> str | None: ...
    @property
    def iap_certs_url(self) -> str: ...
    @property
    def admin_token(self) -> SecretStr | None: ...


def dashboard_guard(settings: GuardSettings) -> DashboardGuard:
    """The guard the settings call for: IAP when `iap_audience` is set (required in
    production, where the admin token is never accepted), the admin token otherwise."""
    if settings.iap_audience:
        return IapVerifier(audience=settings.iap_audience, certs_url=settings.iap_certs_url)
    if settings.environment == "production":
        raise ValueError("IAP_AUDIENCE must be set in production: the dashboard sits behind IAP")
    return AdminTokenGuard(settings.admin_token)


def generate_admin_token() -> SecretStr:
    """A fresh random admin token (for `liveavatar up` when none is configured)."""
    return SecretStr(secrets.token_urlsafe(32))
