"""Google's OAuth 2.0 token endpoint, as an `authorized_user` refresh sees it, on 127.0.0.1.

`POST /token` with `grant_type=refresh_token` and the client id, secret and refresh token
of the credentials file answers an access token, as `oauth2.googleapis.com` does. Tokens
are issued for `EXPIRES_IN_S`, under google-auth's refresh threshold (3 min 45 s), so the
credentials count as stale at once and every Live open refreshes them: each session of the
rehearsal goes through the refresh. `fail_next()` makes the next requests fail, either by
dropping the connection (the endpoint unreachable) or with an HTTP status: 5xx, or 4xx
with `invalid_grant` (the credentials refused).
"""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from .pki import StandInPki

EXPIRES_IN_S = 60
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass(frozen=True)
class UserCredentials:
    """What `gcloud auth application-default login` writes, and the token it leads to."""

    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str
    quota_project: str

    def write(self, path: Path) -> Path:
        """The `authorized_user` credentials file (no `token_uri`: google-auth's default)."""
        info = {
            "type": "authorized_user",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
            "quota_project_id": self.quota_project,
        }
        path.write_text(json.dumps(info))
        return path

    def secrets(self) -> tuple[str, ...]:
        """Every value here that must never appear in a log."""
        return (self.client_secret, self.refresh_token, self.access_token)


class TokenEndpoint:
    """The stand-in, serving TLS with the rehearsal certificate; a context manager.

    `served` counts tokens issued and `failed` the requests made to fail; `refused` those
    with the wrong credentials (400 `invalid_grant`, as Google answers).
    """

    def __init__(self, pki: StandInPki, credentials: UserCredentials) -> None:
        self.credentials = credentials
        self.served = 0
        self.failed = 0
        self.refused = 0
        self._lock = threading.Lock()
        self._failures: list[int | None] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.cert, pki.key)
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="token-endpoint", daemon=True
        )

    def fail_next(self, times: int = 1, *, status: int | None = None) -> None:
        """The next `times` requests fail: the connection dropped without an answer when
        `status` is None (unreachable), else that HTTP status with an OAuth error body."""
        with self._lock:
            self._failures.extend([status] * times)

    def reset(self) -> None:
        """Forget failures asked for and not yet used (a test that ended early)."""
        with self._lock:
            self._failures.clear()

    def _next_failure(self) -> tuple[bool, int | None]:
        with self._lock:
            if not self._failures:
                return False, None
            self.failed += 1
            return True, self._failures.pop(0)

    def _issue(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        c = self.credentials
        given = {k: v[0] for k, v in form.items()}
        expected = {
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        }
        with self._lock:
            if any(given.get(k) != v for k, v in expected.items()):
                self.refused += 1
                return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
            self.served += 1
        body = {
            "access_token": c.access_token,
            "expires_in": EXPIRES_IN_S,
            "scope": SCOPE,
            "token_type": "Bearer",
        }
        return 200, body

    def __enter__(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fail, status = endpoint._next_failure()
            if fail and status is None:
                self.close_connection = True  # no answer at all: the endpoint unreachable
                return
            if fail and status is not None:
                # 4xx: what Google answers a revoked or wrong refresh token.
                error = "invalid_grant" if status < 500 else "internal_failure"
                self._answer(status, {"error": error})
                return
            if self.path.split("?", 1)[0] != "/token":
                self._answer(404, {"error": "not_found"})
                return
            self._answer(*endpoint._issue(parse_qs(body.decode("utf-8"))))

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the test reads the counters, not a log

    return Handler
