"""The Firebase Auth emulator (firebase-tools from npm, the repository's package.json) on
free ports of 127.0.0.1, for the end-to-end tests that sign in: a module-scoped fixture
and its admin REST API. See docs/local-cloud-emulation.md, section 3."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench._browser import (
    REPO,
    START_TIMEOUT_S,
    free_ports,
    http_ok,
    log_tail,
    port_open,
    stop_process,
    wait_until,
)
from scripts.vendor_firebase import vendor

PROJECT = "demo-liveavatar"  # "demo-": the emulator needs no Google project or login
FIREBASE = REPO / "node_modules" / ".bin" / "firebase"
#: firebase-tools takes about 10 s of CPU to start: on a loaded 2-core machine that is
#: close to a minute of wall time, so it gets twice the stack's bound.
EMULATOR_START_TIMEOUT_S = 2 * START_TIMEOUT_S


def signed_in_site(site: Path, emulator: str) -> Path:
    """A copy of frontend/ at `site` with the Firebase SDK vendored and a deploy config
    that requires sign-in with the Auth emulator's project at `emulator` (host:port): what
    deploy.sh writes, plus the emulator's address."""
    shutil.copytree(REPO / "frontend", site, ignore=shutil.ignore_patterns("vendor", "tests"))
    vendor(REPO / "node_modules", site / "vendor" / "firebase")
    firebase = {
        "apiKey": "emulator-api-key",
        "authDomain": f"{PROJECT}.firebaseapp.com",
        "projectId": PROJECT,
        "authEmulatorUrl": f"http://{emulator}",
    }
    config = {"firebase": firebase, "authRequired": True}
    (site / "deploy-config.json").write_text(json.dumps(config))
    return site


def emulator_admin(emulator: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The emulator's admin REST API at `emulator` (host:port); `Bearer owner` is its
    stand-in credential."""
    url = f"http://{emulator}/identitytoolkit.googleapis.com/v1/projects/{PROJECT}/{path}"
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer owner"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    return answer


@pytest.fixture(scope="module")
def auth_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`firebase emulators:start --only auth` on free ports; its host:port."""
    workdir = tmp_path_factory.mktemp("auth-emulator")
    auth, hub, logging = free_ports(3)
    emulators = {
        "auth": {"host": "127.0.0.1", "port": auth},
        "hub": {"host": "127.0.0.1", "port": hub},
        "logging": {"host": "127.0.0.1", "port": logging},
        "ui": {"enabled": False},
        "singleProjectMode": True,
    }
    (workdir / "firebase.json").write_text(json.dumps({"emulators": emulators}))
    log = workdir / "emulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(FIREBASE), "emulators:start", "--only", "auth", "--project", PROJECT],
            cwd=workdir,
            # Its own HOME: firebase-tools keeps settings there, never in the user's.
            env={"PATH": "/usr/bin:/bin", "HOME": str(workdir), "CI": "true"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        try:
            wait_until(
                # Answering HTTP, not just listening: the port opens before the routes do.
                lambda: port_open(auth) and http_ok(f"http://127.0.0.1:{auth}/"),
                timeout_s=EMULATOR_START_TIMEOUT_S,
                what="the Auth emulator",
                alive=lambda: proc.poll() is None,
            )
        except (TimeoutError, RuntimeError) as exc:
            raise RuntimeError(f"{exc}\n{log_tail(log)}") from exc
        yield f"127.0.0.1:{auth}"
    finally:
        stop_process(proc)
