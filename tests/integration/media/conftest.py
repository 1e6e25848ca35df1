"""Real servers for the media tests, all on 127.0.0.1: gcp-storage-emulator, a stand-in for
IAM's signBlob (with an OAuth token endpoint), and a signing key made here."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import google.cloud.storage as storage  # type: ignore[import-untyped]
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from google.auth.credentials import AnonymousCredentials

from tests.support.procs import free_port
from tests.unit.media.support import PROJECT

START_TIMEOUT_S = 30.0


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll `url` until it answers at all (any HTTP status), with a deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.05)  # poll interval; the deadline bounds the wait
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`gcp-storage-emulator --in-memory` on a free loopback port; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("gcs-emulator") / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gcp_storage_emulator",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--in-memory",
                "-q",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(url + "/", proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{log.read_text(errors='replace')}") from exc
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Bucket:
    name: str
    client: Any
    emulator_url: str


@pytest.fixture
def bucket(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket in the emulator, with STORAGE_EMULATOR_HOST pointing there."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    name = f"avatar-{uuid.uuid4().hex[:12]}"
    client.create_bucket(name)
    return Bucket(name, client, gcs_emulator)


@pytest.fixture(scope="session")
def sa_key() -> rsa.RSAPrivateKey:
    """The service account's private key (made here; never leaves the test)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class IamStandIn:
    """IAM credentials' signBlob and an OAuth token endpoint, signing with its own key."""

    key: rsa.RSAPrivateKey
    url: str = ""
    tokens_issued: list[str] = field(default_factory=list)
    sign_requests: list[dict[str, Any]] = field(default_factory=list)
    fail_with: list[int] = field(default_factory=list)  # statuses to answer first
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, object]:
        with self.lock:
            if path == "/token":
                form = parse_qs(body.decode())
                if form.get("grant_type") != ["refresh_token"]:
                    return 400, {"error": "unsupported_grant_type"}
                token = f"access-token-{len(self.tokens_issued) + 1}"
                self.tokens_issued.append(token)
                return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
            prefix, suffix = "/v1/projects/-/serviceAccounts/", ":signBlob"
            if not (path.startswith(prefix) and path.endswith(suffix)):
                return 404, {"error": {"code": 404, "message": "not found"}}
            payload = json.loads(body)["payload"]
            self.sign_requests.append(
                {
                    "email": path[len(prefix) : -len(suffix)],
                    "authorization": headers.get("authorization", ""),
                    "payload": base64.b64decode(payload),
                }
            )
            if self.fail_with:
                status = self.fail_with.pop(0)
                return status, {"error": {"code": status, "message": "stand-in refusal"}}
            if headers.get("authorization") not in {f"Bearer {t}" for t in self.tokens_issued}:
                return 401, {"error": {"code": 401, "message": "bad token"}}
            signature = self.key.sign(
                base64.b64decode(payload), padding.PKCS1v15(), hashes.SHA256()
            )
            return 200, {"keyId": "k1", "signedBlob": base64.b64encode(signature).decode()}


def _handler_for(standin: IamStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply = standin.handle(self.path.split("?")[0], headers, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler


@pytest.fixture
def iam_standin(sa_key: rsa.RSAPrivateKey) -> Iterator[IamStandIn]:
    """The stand-in, serving on a free loopback port in a thread."""
    standin = IamStandIn(sa_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(standin))
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def write_key_file(path: Path, info: dict[str, Any]) -> Path:
    path.write_text(json.dumps(info))
    path.chmod(0o600)
    return path
