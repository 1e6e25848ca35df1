"""Who is calling: Firebase ID tokens verified offline-capable, or an anonymous local identity.

`FirebaseVerifier` checks a Firebase ID token the way Firebase documents it: RS256 signature
by a key from the securetoken certs URL (configurable, so tests serve their own), `aud` equal
to the project id, `iss` equal to `https://securetoken.google.com/<project>`, `iat`/`exp`/
`auth_time` sane within a small clock skew, and a non-empty `sub` of at most 128 characters.
Every refusal is `liveavatar.errors.Unauthorized` (close code 4401) with a message that is
safe to show: it never echoes the token.

The signature and time checks are google-auth's (`google.auth.jwt.decode`, the function
`id_token.verify_token` uses for x509 certs); certificates come from `PublicKeyCache` rather
than `verify_token`'s own fetch, which would download them on every call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import google.auth.exceptions

from liveavatar.errors import CLOSE_TRY_AGAIN, AvatarError, ClientFault, Forbidden, Unauthorized

from .keys import KeyFetchError, PublicKeyCache, decode_verified, parse_unverified

log = logging.getLogger(__name__)

FIREBASE_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
FIREBASE_ISSUER_PREFIX = "https://securetoken.google.com/"
_MAX_UID_CHARS = 128  # Firebase's own limit on uids
GUESTS_REFUSED = "this avatar does not accept guest (anonymous) sign-ins"


@dataclass(frozen=True)
class Identity:
    """A verified caller. `uid` is stable per user; `anonymous` for guest sign-ins;
    `expires_at` when the token that proved it runs out (Unix time; None: never, auth off)."""

    uid: str
    email: str | None
    anonymous: bool
    expires_at: float | None = field(default=None, compare=False)


class VerifierUnavailable(AvatarError):
    """The signing keys could not be fetched: our problem, so "try again", not "sign in"."""

    fault = ClientFault("internal", CLOSE_TRY_AGAIN)


class TokenVerifier(Protocol):
    """Turns the `hello` token (and the client's address) into an `Identity`."""

    async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
        """The caller's identity, or `Unauthorized`."""
        ...


class FirebaseVerifier:
    """Verifies Firebase ID tokens against a certs URL; blocking work runs in a thread."""

    def __init__(
        self,
        *,
        project_id: str,
        certs_url: str = FIREBASE_CERTS_URL,
        clock_skew_s: int = 10,
        keys: PublicKeyCache | None = None,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        allow_anonymous: bool = True,
    ) -> None:
        """`allow_anonymous` False refuses Firebase anonymous sign-ins (`Forbidden`)."""
        if not project_id:
            raise ValueError("FirebaseVerifier needs a project id")
        self.project_id = project_id
        self.allow_anonymous = allow_anonymous
        self.issuer = FIREBASE_ISSUER_PREFIX + project_id
        self.keys = PublicKeyCache(certs_url) if keys is None else keys
        self._skew = clock_skew_s
        self._timeout_s = timeout_s
        self._clock = clock

    async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
        """Verify `token`; raises `Unauthorized` (4401) or `VerifierUnavailable` (1013).

        The wait is bounded by `timeout_s`: a slow certs URL cannot hang a `hello`.
        """
        if token is None or not token.strip():
            raise Unauthorized("sign-in required: no ID token was sent")
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.to_thread(self.verify_blocking, token.strip())
        except TimeoutError as exc:
            raise VerifierUnavailable("could not check the sign-in right now; retry") from exc

    def verify_blocking(self, token: str) -> Identity:
        """The whole check, synchronously (may fetch certificates over HTTP)."""
        try:
            jwt = parse_unverified(token)
        except ValueError:
            raise Unauthorized("the ID token is malformed") from None
        kid = jwt.header.get("kid")
        if jwt.header.get("alg") != "RS256" or not isinstance(kid, str) or not kid:
            raise Unauthorized("the ID token is not a Firebase ID token (algorithm or key id)")
        # Claim checks on the unverified payload only pick the message; the decision is made
        # again below on the verified claims.
        self._check_claims(jwt.claims)
        try:
            keys = self.keys.keys(kid)
        except KeyFetchError as exc:
            raise VerifierUnavailable("could not check the sign-in right now; retry") from exc
        if kid not in keys:
            raise Unauthorized("the ID token is signed by an unknown key")
        try:
            claims = decode_verified(
                token, kid=kid, pem=keys[kid], audience=self.project_id, clock_skew_s=self._skew
            )
        except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
            # google-auth's message can quote the token: not chained, so it never reaches a log.
            log.info("ID token refused by signature check", extra={"reason": type(exc).__name__})
            raise Unauthorized("the ID token's signature could not be verified") from None
        self._check_claims(claims)
        return identity_of(claims, str(claims["sub"]), allow_anonymous=self.allow_anonymous)

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        check_claims(claims, project_id=self.project_id, skew_s=self._skew, now=self._clock())


def check_claims(claims: Mapping[str, Any], *, project_id: str, skew_s: float, now: float) -> None:
    """Firebase's rules for an ID token's claims: audience and issuer of `project_id`, a
    subject, and sane issue, expiry and sign-in times. Raises `Unauthorized`."""
    aud, iss, sub = claims.get("aud"), claims.get("iss"), claims.get("sub")
    if aud != project_id:
        raise Unauthorized("the ID token was issued for another project (audience)")
    if iss != FIREBASE_ISSUER_PREFIX + project_id:
        raise Unauthorized("the ID token was not issued by this project's Firebase (issuer)")
    if not isinstance(sub, str) or not sub or len(sub) > _MAX_UID_CHARS:
        raise Unauthorized("the ID token has no valid user id (subject)")
    iat, exp = _number(claims.get("iat")), _number(claims.get("exp"))
    if iat is None or exp is None:
        raise Unauthorized("the ID token lacks its issue or expiry time")
    if exp + skew_s < now:
        raise Unauthorized("the ID token has expired; sign in again")
    if iat - skew_s > now:
        raise Unauthorized("the ID token is not valid yet; check the device clock")
    if "auth_time" in claims:
        auth_time = _number(claims["auth_time"])
        if auth_time is None or auth_time - skew_s > now:
            raise Unauthorized("the ID token's sign-in time is in the future")


def identity_of(claims: Mapping[str, Any], uid: str, *, allow_anonymous: bool) -> Identity:
    """The identity verified `claims` name. A Firebase anonymous sign-in
    (`firebase.sign_in_provider == "anonymous"`) is a guest: `Forbidden` (4403) unless
    `allow_anonymous` (the `AUTH_ALLOW_ANONYMOUS` setting)."""
    email = claims.get("email")
    firebase = claims.get("firebase")
    provider = firebase.get("sign_in_provider") if isinstance(firebase, dict) else None
    anonymous = provider == "anonymous"
    if anonymous and not allow_anonymous:
        raise Forbidden(GUESTS_REFUSED)
    return Identity(
        uid=uid,
        email=email if isinstance(email, str) and email else None,
        anonymous=anonymous,
        expires_at=_number(claims.get("exp")),
    )


def _number(value: object) -> float | None:
    # Python's JSON parser takes NaN and Infinity literals (and 1e400 overflows to inf):
    # a time that is not finite is no time, so an `exp` of Infinity never means "forever".
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            return None
        return number if math.isfinite(number) else None
    return None


class AnonymousVerifier:
    """Local development with auth off: everyone is a guest, keyed by client address.

    The uid is `local-<12 hex of sha256(ip)>` (or `local-anonymous` without an address), so
    quotas and session caps still apply per client without storing raw addresses.
    """

    async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
        """Ignore the token; return the stable guest identity for `client_ip`."""
        if not client_ip:
            return Identity(uid="local-anonymous", email=None, anonymous=True)
        digest = hashlib.sha256(client_ip.encode("utf-8")).hexdigest()[:12]
        return Identity(uid=f"local-{digest}", email=None, anonymous=True)
