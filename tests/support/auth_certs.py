"""Test signing keys, a local certs server on 127.0.0.1, token minting, settings stand-in.

`CertsServer` plays Google's two certs endpoints: Firebase's securetoken x509 map
(`/x509`, `{kid: PEM certificate}`) and JWKS (`/jwks`), and IAP's JWK set (`/iap-jwk`). It
counts hits per path so tests can prove the verifier caches. Tokens are minted with
google-auth's own signers, RS256 for Firebase and ES256 for IAP. `FakeAuthSettings` stands in
for the auth fields of Settings.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import google.auth.crypt
import google.auth.jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from google.auth.crypt import es256
from pydantic import SecretStr

PROJECT = "demo-avatar"
IAP_AUDIENCE = "/projects/123456789/global/backendServices/987654321"
# Where Google publishes Firebase's ID token certificates, on www.googleapis.com (written
# out, not imported: the test must not share the product's answer).
FIREBASE_X509_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
IAP_JWK_PATH = "/iap/verify/public_key-jwk"  # on www.gstatic.com


def _b64(n: int, length: int | None = None) -> str:
    raw = n.to_bytes(length or (n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _private_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _self_signed(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


class SigningKeys:
    """One RSA key with its certificate, another RSA key (forgeries), one P-256 key."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_kid = "test-rsa-1"
        self.ec_kid = "test-ec-1"
        self.rsa_cert = _self_signed(self.rsa)

    def x509_map(self) -> dict[str, str]:
        """Firebase's securetoken format."""
        return {self.rsa_kid: self.rsa_cert}

    def rsa_jwks(self) -> dict[str, Any]:
        """The same RSA key as a JWKS."""
        numbers = self.rsa.public_key().public_numbers()
        jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.rsa_kid}
        return {"keys": [jwk | {"n": _b64(numbers.n), "e": _b64(numbers.e)}]}

    def ec_jwks(self) -> dict[str, Any]:
        """IAP's format: P-256 keys as JWKs."""
        numbers = self.ec.public_key().public_numbers()
        jwk = {"kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256", "kid": self.ec_kid}
        return {"keys": [jwk | {"x": _b64(numbers.x, 32), "y": _b64(numbers.y, 32)}]}

    def firebase_claims(self, project: str = PROJECT, **overrides: Any) -> dict[str, Any]:
        """Valid Firebase ID-token claims; `overrides` replace or (as None) remove claims."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"https://securetoken.google.com/{project}",
            "aud": project,
            "sub": "user-123",
            "user_id": "user-123",
            "email": "ada@example.com",
            "iat": now - 60,
            "exp": now + 3540,
            "auth_time": now - 120,
            "firebase": {"sign_in_provider": "password"},
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def firebase_token(
        self, *, forged: bool = False, kid: str | None = None, **overrides: Any
    ) -> str:
        """An RS256 token (signed by the other key if `forged`, same kid)."""
        key = self.other_rsa if forged else self.rsa
        signer = google.auth.crypt.RSASigner.from_string(  # type: ignore[no-untyped-call]
            _private_pem(key), key_id=kid or self.rsa_kid
        )
        return _encode(signer, self.firebase_claims(**overrides))

    def iap_token(self, audience: str = IAP_AUDIENCE, **overrides: Any) -> str:
        """An ES256 IAP assertion for `audience`."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://cloud.google.com/iap",
            "aud": audience,
            "sub": "accounts.google.com:1234567890",
            "email": "accounts.google.com:admin@example.com",
            "iat": now - 10,
            "exp": now + 600,
        }
        claims.update(overrides)
        signer = es256.ES256Signer.from_string(_private_pem(self.ec), key_id=self.ec_kid)
        return _encode(signer, {k: v for k, v in claims.items() if v is not None})


def _encode(signer: google.auth.crypt.Signer, claims: dict[str, Any]) -> str:
    token = google.auth.jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
    return token.decode("ascii") if isinstance(token, bytes) else str(token)


class CertsServer:
    """Serves the keys' certs on 127.0.0.1:<free port> from a background thread."""

    def __init__(
        self,
        keys: SigningKeys,
        *,
        max_age_s: int | None = 3600,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """`tls` (certificate chain, key): serve HTTPS, as Google's hosts do."""
        self.keys = keys
        self.max_age_s = max_age_s
        self.hits: Counter[str] = Counter()
        self.fail = False  # answer 503 while set (outage tests)
        documents = {
            "/x509": keys.x509_map,
            "/jwks": keys.rsa_jwks,
            "/iap-jwk": keys.ec_jwks,
            FIREBASE_X509_PATH: keys.x509_map,
            IAP_JWK_PATH: keys.ec_jwks,
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits[self.path] += 1
                document = documents.get(self.path)
                if document is None or outer.fail:
                    self.send_error(404 if document is None else 503)
                    return
                body = json.dumps(document()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if outer.max_age_s is not None:
                    self.send_header("Cache-Control", f"public, max-age={outer.max_age_s}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            self.scheme = "https"
        # A short poll interval makes shutdown() return quickly (it waits for one poll).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        """The full URL of one certs document (`/x509`, `/jwks`, `/iap-jwk`)."""
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}{path}"

    def start(self) -> CertsServer:
        """Begin serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (bounded)."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def total_hits(self, paths: Iterable[str] | None = None) -> int:
        """Hits on `paths` (all paths if None)."""
        return sum(n for p, n in self.hits.items() if paths is None or p in set(paths))


@dataclass(frozen=True)
class FakeAuthSettings:
    """The auth fields of Settings with their proposed defaults (Settings may lag behind)."""

    environment: str = "local"
    project_id: str | None = PROJECT
    auth_enabled: bool = False
    auth_allow_anonymous: bool = False
    firebase_project_id: str | None = None
    firebase_certs_url: str = (
        "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    )
    quota_minutes_per_day: float | None = 30.0
    quota_cost_per_day: float | None = None
    quota_warn_before_s: float = 30.0
    rate_limit_connections: int = 100
    rate_limit_window_s: float = 60.0
    max_sessions_per_user: int = 3
    iap_audience: str | None = None
    iap_certs_url: str = "https://www.gstatic.com/iap/verify/public_key-jwk"
    admin_token: SecretStr | None = None
    live_backend: str = "emulator"
    secrets_backend: str = "env"
