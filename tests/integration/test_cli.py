"""The `liveavatar` command as a user runs it: a real child process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from google.genai import types

from tests.support.live import MODEL, reading, turn_completes


def test_unbuilt_commands_say_so() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "liveavatar", "dashboard"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3
    assert "not built yet" in done.stderr


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

    from liveavatar.store import DB_FILENAME, SQLiteStore

    now = dt.datetime.now(dt.UTC)
    store = SQLiteStore(tmp_path / DB_FILENAME)
    await store.start_conversation("old", "u1", now - dt.timedelta(days=40), None)
    await store.start_conversation("new", "u1", now - dt.timedelta(days=2), None)
    await store.close()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "RETENTION_DAYS": "30"}
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
