"""`liveavatar serve` with production's Live settings, Google's hostnames mapped to stand-ins.

The process gets exactly what production sets for Live: `LIVE_BACKEND`, `LIVE_CLIENT`, a
`GEMINI_API_KEY` or `PROJECT_ID` + `VERTEX_LOCATION` + `GOOGLE_APPLICATION_CREDENTIALS`.
Nothing points it elsewhere: no `VERTEX_AI_ENDPOINT`, no `LIVE_CA_FILE`, and it runs in an
empty folder so no developer's `.env` can add either. What differs lies below the product:
`sitecustomize` (in `site/`) maps the hostnames, and the default trust store variables name
a bundle holding only the rehearsal CA.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.procs import free_port, wait_http

from .pki import StandInPki

SITE_DIR = Path(__file__).parent / "site"
REPO = Path(__file__).resolve().parents[3]
HOSTS_VAR = "LIVEAVATAR_REHEARSAL_HOSTS"
# Inherited variables that would point a Google client, or its trust, somewhere else.
_DROPPED_PREFIXES = ("GOOGLE_", "GEMINI_", "LIVE_", "VERTEX_", "EMULATOR_", "CLOUDSDK_")
_DROPPED = frozenset(
    {
        "PROJECT_ID",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "FIRESTORE_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
    }
)


def production_env(
    live: Mapping[str, str],
    *,
    pki: StandInPki,
    hosts: Mapping[str, int],
    port: int,
    data_dir: Path,
) -> dict[str, str]:
    """The process environment: `live` (the production Live settings) on a clean base.

    `hosts` maps each real hostname (port 443) to the 127.0.0.1 port of its stand-in.
    """
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in _DROPPED and not k.startswith(_DROPPED_PREFIXES)
    }
    path = [str(SITE_DIR), *filter(None, base.get("PYTHONPATH", "").split(os.pathsep))]
    return {
        **base,
        **live,
        "PYTHONPATH": os.pathsep.join(path),
        "PYTHONUNBUFFERED": "1",
        HOSTS_VAR: json.dumps({f"{h}:443": f"127.0.0.1:{p}" for h, p in hosts.items()}),
        # The default trust store: what OpenSSL, the SDK and `requests` read.
        "SSL_CERT_FILE": str(pki.bundle),
        "REQUESTS_CA_BUNDLE": str(pki.bundle),
        "NO_GCE_CHECK": "true",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "KNOWLEDGE_DIR": str(REPO / "knowledge"),
        "ALLOWED_ORIGINS": '["http://localhost:8000"]',
    }


@dataclass
class RehearsalBackend:
    """A running backend process and its log (JSON lines, as Cloud Logging gets them)."""

    proc: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def log(self) -> list[dict[str, Any]]:
        """Every JSON log line written so far (each record is flushed as it is logged)."""
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8")

    def assert_no_secret(self, secrets: Iterable[str]) -> None:
        text = self.log_text()
        leaked = [s[:4] + "…" for s in secrets if s and s in text]
        assert not leaked, f"secrets in the backend's log: {leaked}"


@contextlib.asynccontextmanager
async def rehearsal_backend(
    live: Mapping[str, str], *, pki: StandInPki, hosts: Mapping[str, int], workdir: Path
) -> AsyncIterator[RehearsalBackend]:
    """`python -m liveavatar serve` in `workdir` with `production_env`, ready; then stopped."""
    port = free_port()
    env = production_env(live, pki=pki, hosts=hosts, port=port, data_dir=workdir / "data")
    log_path = workdir / "backend.log"
    with log_path.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "liveavatar",
            "serve",
            env=env,
            cwd=workdir,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    backend = RehearsalBackend(proc, port, log_path)
    try:
        try:
            await wait_http(f"http://127.0.0.1:{port}/readyz")
        except TimeoutError as exc:
            raise AssertionError(f"backend not ready; its log:\n{backend.log_text()}") from exc
        yield backend
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                async with asyncio.timeout(15):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
