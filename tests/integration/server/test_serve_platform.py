"""`liveavatar serve` as a process: where it listens on Cloud Run and locally, the
production settings it refuses to start with, and a required secret it may not read."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from liveavatar.emulator.server import EmulatorServer
from tests.support.procs import free_port, listening_address, serve_env, wait_http
from tests.support.secret_manager_standin import SecretManagerStandIn


def read(log: Path) -> str:
    return log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def serve(env: dict[str, str], port: int, log: Path) -> AsyncIterator[None]:
    """`python -m liveavatar serve` with `env`, ready on 127.0.0.1:`port`; then stopped."""
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "liveavatar", "serve", env=env, stdout=out, stderr=out
        )
    try:
        try:
            await wait_http(f"http://127.0.0.1:{port}/readyz")
        except TimeoutError as exc:
            raise AssertionError(f"not ready; its log:\n{read(log)}") from exc
        yield
    finally:
        proc.terminate()
        try:
            async with asyncio.timeout(15):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def test_on_cloud_run_it_listens_on_every_interface_at_port(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(emulator, free_port(), tmp_path / "data")
    # Cloud Run sets K_SERVICE and PORT; a HOST left over from local use does not count.
    env |= {"K_SERVICE": "liveavatar-backend", "PORT": str(port), "HOST": "127.0.0.1"}
    async with serve(env, port, tmp_path / "serve.log"):
        assert listening_address(port) == "0.0.0.0"


async def test_locally_it_listens_on_loopback_only(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in serve_env(emulator, port, tmp_path / "data").items() if k != "HOST"}
    env.pop("K_SERVICE", None)
    async with serve(env, port, tmp_path / "serve.log"):
        assert listening_address(port) == "127.0.0.1"


def test_serve_refuses_production_settings_that_do_not_hold(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "NO_GCE_CHECK": "true",
        "ENVIRONMENT": "production",
        "PROJECT_ID": "acme-avatar-prod",
        "LIVE_BACKEND": "vertex",
        "AUTH_ENABLED": "true",
        # Left as the local defaults: SQLite, local media with no shared key, localhost.
    }
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(
        [sys.executable, "-m", "liveavatar", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to start in production" in done.stderr
    for setting in ("STORE_BACKEND=sqlite", "MEDIA_SIGNING_SECRET", "ALLOWED_ORIGINS"):
        assert setting in done.stderr
    assert not (tmp_path / ".data").exists()  # refused before anything was opened


def test_serve_names_a_required_secret_it_may_not_read(tmp_path: Path) -> None:
    standin = SecretManagerStandIn()
    standin.least_privilege = True  # what a service account is told for a missing name
    standin.start()
    try:
        env = {
            "PATH": "/usr/bin:/bin",
            "NO_GCE_CHECK": "true",
            "SECRETS_BACKEND": "secret-manager",
            "PROJECT_ID": "demo-avatar",
            "LIVE_BACKEND": "gemini",
            "SECRET_MANAGER_EMULATOR_HOST": standin.target,
        }
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        done = subprocess.run(
            [sys.executable, "-m", "liveavatar", "serve"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
        )
    finally:
        standin.stop()
    assert done.returncode == 2, done.stderr
    assert "GEMINI_API_KEY" in done.stderr and "roles/secretmanager.secretAccessor" in done.stderr
