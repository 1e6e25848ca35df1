"""The `liveavatar` command as a user runs it: a real child process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.genai import types

from liveavatar.dashboard.serve import wait_healthy
from tests.support.live import MODEL, reading, turn_completes
from tests.support.procs import free_port


def _listening_address(port: int) -> str | None:
    """The local IPv4 address a socket listens on for `port` (Linux's /proc/net/tcp)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            return ".".join(str(b) for b in reversed(bytes.fromhex(address)))
    return None


def _dashboard(tmp_path: Path, **env: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ADMIN_TOKEN", "IAP_AUDIENCE", "K_SERVICE", "ENVIRONMENT")
    }
    clean |= {
        "DATA_DIR": str(tmp_path / "data"),
        "MEDIA_DIR": str(tmp_path / "media"),
        "DASHBOARD_HOST": "0.0.0.0",
        "DASHBOARD_PORT": str(port),
        **env,
    }
    log = tmp_path / "dashboard.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "liveavatar", "dashboard"],
            env=clean,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, port, log


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_dashboard_without_a_token_serves_on_localhost_only(tmp_path: Path) -> None:
    proc, port, log = _dashboard(tmp_path)
    try:
        assert wait_healthy("127.0.0.1", port, proc, timeout_s=60), log.read_text()
        assert _listening_address(port) == "127.0.0.1"
        assert "binds 127.0.0.1 only" in log.read_text()
    finally:
        _stop(proc)


def test_dashboard_with_a_token_binds_where_it_is_told(tmp_path: Path) -> None:
    proc, port, log = _dashboard(tmp_path, ADMIN_TOKEN="a-long-enough-admin-token-123")
    try:
        assert wait_healthy("127.0.0.1", port, proc, timeout_s=60), log.read_text()
        assert _listening_address(port) == "0.0.0.0"
        assert f"serving http://localhost:{port}/" in log.read_text()
    finally:
        _stop(proc)


def test_invalid_production_settings_refuse_to_start(tmp_path: Path) -> None:
    env = {"ENVIRONMENT": "production", "PROJECT_ID": "changeme", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "liveavatar", "emulator"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "PROJECT_ID is missing or a placeholder" in done.stderr


PRODUCTION = {
    "ENVIRONMENT": "production",
    "PROJECT_ID": "acme-avatar-prod",
    "LIVE_BACKEND": "vertex",
    "AUTH_ENABLED": "true",
    "MEDIA_BACKEND": "gcs",
    "MEDIA_BUCKET": "acme-avatar-media",
    "PATH": "/usr/bin:/bin",
}


@pytest.mark.parametrize("command", [["dashboard"], ["purge", "--days", "30"]])
@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"STORE_BACKEND": "sqlite"}, "STORE_BACKEND=sqlite"),
        ({"STORE_BACKEND": "firestore", "MEDIA_BACKEND": "local"}, "MEDIA_SIGNING_SECRET"),
    ],
)
def test_production_dashboard_and_purge_refuse_one_machines_store(
    tmp_path: Path, command: list[str], env: dict[str, str], named: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "liveavatar", *command],
        capture_output=True,
        text=True,
        timeout=60,
        # PYTHONPATH kept: the package under test, wherever it is checked out.
        env={**PRODUCTION, "PYTHONPATH": os.environ.get("PYTHONPATH", ""), **env},
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert f"liveavatar {command[0]}: refusing to start in production: " in done.stderr
    assert named in done.stderr
    assert not (tmp_path / "data").exists()  # refused before any store was opened


async def test_emulator_command_serves_the_sdk(tmp_path: Path) -> None:
    from google import genai

    from liveavatar.emulator.tls import client_context

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "liveavatar",
        "emulator",
        "--port",
        "0",
        "--cert-dir",
        str(tmp_path),
        "--lifetime",
        "30",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            while True:
                entry = json.loads(await proc.stdout.readline())
                if entry["message"] == "live emulator listening":
                    break
        assert entry["severity"] == "INFO"
        url = str(entry["url"]).replace("wss://", "https://")
        assert (tmp_path / "cert.pem").exists()
        client = genai.Client(
            api_key="k",
            http_options=types.HttpOptions(
                base_url=url, async_client_args={"ssl": client_context(tmp_path)}
            ),
        )
        async with (
            client.aio.live.connect(model=MODEL, config={}) as session,
            reading(session) as t,
        ):
            await session.send_realtime_input(text="hello")
            await t.wait_for(lambda t: turn_completes(t) >= 1)
        assert len(t.audio()) > 0
    finally:
        proc.terminate()
        async with asyncio.timeout(15):
            assert await proc.wait() == 0


async def test_purge_command_applies_retention(tmp_path: Path) -> None:
    import datetime as dt
    import os

    from liveavatar.media.recordings import recording_name
    from liveavatar.store import DB_FILENAME, SQLiteStore

    now = dt.datetime.now(dt.UTC)
    store = SQLiteStore(tmp_path / DB_FILENAME)
    await store.start_conversation("old", "u1", now - dt.timedelta(days=40), None)
    await store.start_conversation("new", "u1", now - dt.timedelta(days=2), None)
    await store.close()
    # Each conversation has a recording: the expired one's goes with it, the other stays.
    media = tmp_path / "media"
    for cid, started in (("old", now - dt.timedelta(days=40)), ("new", now)):
        part = str(int(started.timestamp() * 1_000_000))
        path = media / recording_name(cid, part)
        path.parent.mkdir(parents=True)
        path.write_bytes(b"OggS")
        os.utime(path, (started.timestamp(), started.timestamp()))  # last written then
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "MEDIA_DIR": str(media),
        "RETENTION_DAYS": "30",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "liveavatar", "purge", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert json.loads(out.decode().splitlines()[-1])["deleted"] == 1
    store = SQLiteStore(tmp_path / DB_FILENAME)
    try:
        assert await store.get_conversation("old") is None
        assert await store.get_conversation("new") is not None
    finally:
        await store.close()
    assert [p.parent.name for p in media.rglob("*.ogg")] == ["new"]
