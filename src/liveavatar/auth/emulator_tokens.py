"""ID tokens from the Firebase Auth emulator, accepted in local and test settings only.

The emulator (firebase-tools, `FIREBASE_AUTH_EMULATOR_HOST`) signs nothing: its tokens are
`alg: none`, which `FirebaseVerifier` rightly refuses. `EmulatorVerifier` applies the same
claim checks (project, issuer, subject, times) and then asks the emulator itself whether it
issued the token (`accounts:lookup`), so an edited or invented token is still refused.
Production never gets here: `config.production_auth_problems` refuses to start with the
emulator variable set.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from liveavatar.errors import Unauthorized

from .keys import parse_unverified
from .tokens import Identity, VerifierUnavailable, check_claims, identity_of

_LOOKUP_PATH = "/identitytoolkit.googleapis.com/v1/accounts:lookup?key=emulator"


class EmulatorVerifier:
    """Verifies the emulator's unsigned ID tokens by its claims and by asking the emulator."""

    def __init__(
        self,
        *,
        project_id: str,
        emulator_host: str,
        clock_skew_s: int = 10,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        allow_anonymous: bool = True,
    ) -> None:
        """`allow_anonymous` False refuses anonymous sign-ins, as `FirebaseVerifier`."""
        if not project_id or not emulator_host:
            raise ValueError("EmulatorVerifier needs a project id and the emulator's host:port")
        self.project_id = project_id
        self.lookup_url = f"http://{emulator_host}{_LOOKUP_PATH}"
        self._skew = clock_skew_s
        self._timeout_s = timeout_s
        self._clock = clock
        self.allow_anonymous = allow_anonymous

    async def verify(self, token: str | None, *, client_ip: str | None = None) -> Identity:
        """Verify `token`; raises `Unauthorized` (4401) or `VerifierUnavailable` (1013)."""
        if token is None or not token.strip():
            raise Unauthorized("sign-in required: no ID token was sent")
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.to_thread(self.verify_blocking, token.strip())
        except TimeoutError as exc:
            raise VerifierUnavailable("could not check the sign-in right now; retry") from exc

    def verify_blocking(self, token: str) -> Identity:
        """The whole check, synchronously (one HTTP request to the emulator)."""
        try:
            # An unsigned JWT ends with an empty signature, which the parser (made for
            # signed tokens) refuses: it gets a placeholder; nothing reads it.
            jwt = parse_unverified(token + "unsigned" if token.endswith(".") else token)
        except ValueError:
            raise Unauthorized("the ID token is malformed") from None
        if jwt.header.get("alg") != "none":
            raise Unauthorized("the ID token is not one of the Auth emulator's")
        # FirebaseVerifier's claim rules, so the two cannot drift apart.
        check_claims(jwt.claims, project_id=self.project_id, skew_s=self._skew, now=self._clock())
        uid = self._lookup(token)
        if uid != jwt.claims["sub"]:
            raise Unauthorized("the ID token does not match the emulator's user")
        return identity_of(jwt.claims, uid, allow_anonymous=self.allow_anonymous)

    def _lookup(self, token: str) -> str:
        body = json.dumps({"idToken": token}).encode()
        request = urllib.request.Request(
            self.lookup_url, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as resp:
                answer = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if not 400 <= exc.code < 500:
                raise VerifierUnavailable("the Auth emulator failed; retry") from None
            # Its error names the reason the way Google's does, e.g. USER_DISABLED.
            if b"USER_DISABLED" in exc.read(4096):
                raise Unauthorized("this account is disabled") from None
            raise Unauthorized("the Auth emulator does not know this ID token") from None
        except (OSError, ValueError) as exc:
            raise VerifierUnavailable("the Auth emulator is not answering; retry") from exc
        users = answer.get("users") if isinstance(answer, dict) else None
        if not isinstance(users, list) or not users or not isinstance(users[0], dict):
            raise Unauthorized("the Auth emulator does not know this user")
        if users[0].get("disabled") is True:
            raise Unauthorized("this account is disabled")
        return str(users[0].get("localId", ""))
