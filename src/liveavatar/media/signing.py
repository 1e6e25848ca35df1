"""Who signs Cloud Storage v4 URLs: a service-account key here, or IAM's signBlob.

Cloud Run's metadata-server credentials carry an access token but no private key, so they
cannot sign locally; IAM's `signBlob` signs on their behalf (the service account needs
`roles/iam.serviceAccountTokenCreator` on itself). `google-cloud-storage` can do that with
`service_account_email=`/`access_token=`, but its IAM host is fixed; `IamSigner` makes the
same call with a configurable endpoint, so tests can point it at a local stand-in.

A `Signer` is blocking (it may make an HTTP call); callers run it off the event loop.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any, Protocol
from urllib.parse import quote

import google.auth.credentials
import google.auth.exceptions
import google.auth.transport
import google.auth.transport.requests
from google.oauth2 import service_account

from .base import MediaSigningError

logger = logging.getLogger(__name__)

DEFAULT_IAM_ENDPOINT = "https://iamcredentials.googleapis.com"
IAM_TIMEOUT_S = 10.0
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_ATTEMPTS = 3
_BACKOFF_S = 0.25


class Signer(Protocol):
    """Signs bytes as a service account (RSA-SHA256, PKCS#1 v1.5)."""

    @property
    def email(self) -> str:
        """The service account whose key makes the signature (blocking: may refresh)."""
        ...

    def sign_bytes(self, message: bytes) -> bytes:
        """The raw signature of `message` (blocking: may call IAM)."""
        ...


class LocalKeySigner:
    """Signs with a private key held in memory (a service-account key file or dict)."""

    def __init__(self, credentials: google.auth.credentials.Signing) -> None:
        self._credentials = credentials

    @classmethod
    def from_service_account_info(cls, info: dict[str, Any]) -> LocalKeySigner:
        """From a parsed service-account JSON key."""
        key = service_account.Credentials.from_service_account_info(info)  # type: ignore[no-untyped-call]
        return cls(key)

    @classmethod
    def from_service_account_file(cls, path: str) -> LocalKeySigner:
        """From a service-account JSON key file (blocking read)."""
        key = service_account.Credentials.from_service_account_file(path)  # type: ignore[no-untyped-call]
        return cls(key)

    @property
    def email(self) -> str:
        """The key's service account."""
        return str(self._credentials.signer_email)

    def sign_bytes(self, message: bytes) -> bytes:
        """Sign locally; no network."""
        return bytes(self._credentials.sign_bytes(message))  # type: ignore[no-untyped-call]


class IamSigner:
    """Signs through `POST {endpoint}/v1/projects/-/serviceAccounts/{email}:signBlob`.

    `credentials` are refreshed when needed and their access token is sent as the bearer.
    `email` defaults to the credentials' own service account (known after a refresh on
    Cloud Run / GCE).
    """

    def __init__(
        self,
        credentials: google.auth.credentials.Credentials,
        email: str | None = None,
        *,
        endpoint: str = DEFAULT_IAM_ENDPOINT,
        timeout_s: float = IAM_TIMEOUT_S,
        request: google.auth.transport.Request | None = None,
    ) -> None:
        self._credentials = credentials
        self._email = email
        self.endpoint = endpoint.rstrip("/")
        self._timeout_s = timeout_s
        self._request = request or google.auth.transport.requests.Request()
        self._lock = threading.Lock()  # one refresh at a time across worker threads

    @property
    def email(self) -> str:
        """The configured email, else the credentials' service account."""
        if self._email is None:
            self._access_token()
            found = getattr(self._credentials, "service_account_email", None)
            if not isinstance(found, str) or "@" not in found:
                raise MediaSigningError(
                    "cannot tell which service account signs media URLs; set MEDIA_SIGNER_EMAIL"
                )
            self._email = found
        return self._email

    def _access_token(self) -> str:
        with self._lock:
            if not self._credentials.valid:
                try:
                    self._credentials.refresh(self._request)  # type: ignore[no-untyped-call]
                except (google.auth.exceptions.GoogleAuthError, ValueError) as exc:
                    raise MediaSigningError(
                        f"could not refresh credentials for IAM signing: {type(exc).__name__}"
                    ) from exc
            token = self._credentials.token
        if not isinstance(token, str) or not token:
            raise MediaSigningError("the credentials gave no access token for IAM signing")
        return token

    def sign_bytes(self, message: bytes) -> bytes:
        """Ask IAM to sign; retries a few times on throttling and server errors."""
        email = self.email
        url = f"{self.endpoint}/v1/projects/-/serviceAccounts/{quote(email, safe='@')}:signBlob"
        body = json.dumps({"payload": base64.b64encode(message).decode("ascii")})
        for attempt in range(1, _ATTEMPTS + 1):
            headers = {
                "Authorization": f"Bearer {self._access_token()}",
                "Content-Type": "application/json",
            }
            try:
                response = self._request(
                    url=url, method="POST", body=body, headers=headers, timeout=self._timeout_s
                )
            except google.auth.exceptions.TransportError as exc:
                if attempt == _ATTEMPTS:
                    raise MediaSigningError(f"IAM signBlob unreachable: {exc}") from exc
            else:
                if response.status == 200:
                    return _signed_blob(response.data)
                if response.status not in _RETRY_STATUSES or attempt == _ATTEMPTS:
                    raise MediaSigningError(
                        f"IAM signBlob refused: HTTP {response.status} {_excerpt(response.data)}"
                    )
            logger.warning("IAM signBlob failed; retrying", extra={"attempt": attempt})
            # Backoff between retries of a failed call (not a readiness wait); this runs
            # in a worker thread, never on the event loop.
            time.sleep(_BACKOFF_S * attempt)
        raise AssertionError("unreachable")


def _signed_blob(data: bytes) -> bytes:
    try:
        return base64.b64decode(json.loads(data)["signedBlob"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise MediaSigningError("IAM signBlob returned no signature") from exc


def _excerpt(data: bytes) -> str:
    return data[:200].decode("utf-8", "replace").replace("\n", " ")


class SigningCredentials(google.auth.credentials.Signing):
    """Presents a `Signer` as the `Signing` credentials `generate_signed_url` expects."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def sign_bytes(self, message: bytes | str) -> bytes:
        data = message.encode("utf-8") if isinstance(message, str) else message
        return self._signer.sign_bytes(data)

    @property
    def signer_email(self) -> str:
        return self._signer.email

    @property
    def signer(self) -> Signer:
        return self._signer


def signer_for(
    credentials: google.auth.credentials.Credentials,
    signer_email: str | None = None,
    *,
    iam_endpoint: str = DEFAULT_IAM_ENDPOINT,
) -> Signer:
    """The signer for `credentials`: their own key if they have one (and no other signer
    account is asked for), else IAM signBlob as `signer_email` (or their own account)."""
    if isinstance(credentials, google.auth.credentials.Signing):
        own = getattr(credentials, "signer_email", None)
        if signer_email is None or signer_email == own:
            return LocalKeySigner(credentials)
    if isinstance(credentials, google.auth.credentials.AnonymousCredentials):
        raise MediaSigningError(
            "anonymous credentials cannot sign media URLs; give a service-account key "
            "(GOOGLE_APPLICATION_CREDENTIALS) or run with a service account"
        )
    return IamSigner(credentials, signer_email, endpoint=iam_endpoint)
