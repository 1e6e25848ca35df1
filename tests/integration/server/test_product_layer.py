"""The product layer through the real backend: identity, quotas, limits, persistence, persona."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveavatar.emulator.server import EmulatorServer
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys
from tests.support.browser import browser, count
from tests.support.procs import serve_process


@pytest.fixture
def certs() -> Iterator[CertsServer]:
    server = CertsServer(SigningKeys()).start()
    yield server
    server.stop()


def auth_settings(emulator: EmulatorServer, certs: CertsServer, **extra: object) -> object:
    return backend_settings(
        emulator,
        auth_enabled=True,
        firebase_project_id=PROJECT,
        firebase_certs_url=certs.url("/x509"),
        **extra,
    )


async def test_signed_in_user_is_created_and_bad_tokens_are_refused(
    emulator: EmulatorServer, start_backend: StartBackend, certs: CertsServer
) -> None:
    settings = auth_settings(emulator, certs)
    backend = await start_backend(settings)
    keys = certs.keys
    good = {"type": "hello", "version": 1, "token": keys.firebase_token()}
    async with browser(backend.ws_url, hello=good) as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
    for token in (
        None,
        "not-a-jwt",
        keys.firebase_token(forged=True),
        keys.firebase_token(aud="someone-else"),
        keys.firebase_token(exp=1),
    ):
        hello = {"type": "hello", "version": 1, "token": token}
        async with browser(backend.ws_url, hello=hello) as (_ws, log):
            await log.wait_for(lambda log: log.close_code is not None)
        assert log.messages("error")[0]["code"] == "unauthorized"
        assert log.close_code == 4401
    store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)  # type: ignore[attr-defined]
    users = await store.list_users(limit=10)
    await store.close()
    assert [u.email for u in users] == ["ada@example.com"]


async def test_quota_is_enforced_at_hello(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, quota_minutes_per_day=0))
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None)
    assert log.messages("error")[0]["code"] == "quota_exceeded"
    assert log.close_code == 4430


async def test_quota_warns_then_cuts_cleanly(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    # 3 s a day with a 2 s warning: the session is warned, then closed with 4430.
    settings = backend_settings(emulator, quota_minutes_per_day=0.05, quota_warn_before_s=2)
    backend = await start_backend(settings)
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: log.close_code is not None, limit_s=30)
    codes = [(e["code"], e["fatal"]) for e in log.messages("error")]
    assert codes[0] == ("quota_exceeded", False)  # the warning before the cut
    assert codes[-1] == ("quota_exceeded", True)
    assert log.close_code == 4430


async def test_connection_rate_limit_and_session_cap(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(
        backend_settings(emulator, rate_limit_connections=2, max_sessions_per_user=1)
    )
    async with browser(backend.ws_url) as (_ws, first):
        await first.wait_for(lambda log: count("ready")(log) == 1)
        async with browser(backend.ws_url) as (_ws2, second):  # same (anonymous) user
            await second.wait_for(lambda log: log.close_code is not None)
        assert second.messages("error")[0]["code"] == "rate_limited"
        assert second.close_code == 4429
        async with browser(backend.ws_url) as (_ws3, third):  # third connection this minute
            await third.wait_for(lambda log: log.close_code is not None)
        assert "retry in" in third.messages("error")[0]["message"]
        assert third.close_code == 4429
    assert first.close_code is None


async def test_admin_persona_change_applies_to_the_next_session(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, persona_cache_s=0)
    backend = await start_backend(settings)
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
    assert log.final("model") == ["My name is Ava."]
    store = SQLiteStore(Path(settings.data_dir) / DB_FILENAME)
    await store.put_persona(
        PersonaConfig(
            name="Max",
            model="gemini-3.8-live",
            voice="Charon",
            system_instruction="You are Max, a calm guide.",
            tools=[],
        ),
        expected_version=0,
    )
    await store.close()
    async with browser(backend.ws_url) as (ws, log):
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("metrics")(log) >= 1)
    ready = log.messages("ready")[0]
    assert (ready["persona"], ready["voice"]) == ("Max", "Charon")
    assert log.final("model") == ["My name is Max."]


async def test_turns_are_stored_as_they_end_and_survive_sigkill(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / DB_FILENAME)
    try:
        async with (
            serve_process(emulator, tmp_path) as (proc, port),
            browser(f"ws://127.0.0.1:{port}/ws") as (ws, log),
        ):
            await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
            await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
            session_id = log.messages("ready")[0]["session_id"]
            # Still connected: the finished turn is already in the store.
            conversation = None
            for _ in range(100):
                conversation = await store.get_conversation(session_id)
                if conversation and conversation.metrics.turns >= 1:
                    break
                await asyncio.sleep(0.05)
            assert conversation is not None and conversation.metrics.turns == 1
            assert conversation.ended_at is None
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        await store.close()
        store = SQLiteStore(tmp_path / DB_FILENAME)
        after = await store.get_conversation(session_id)
        assert after is not None
        assert [(m.role, m.text) for m in after.messages] == [
            ("user", "what is your name"),
            ("model", "My name is Ava."),
        ]
        daily = await store.list_daily(after.timestamp.date(), after.timestamp.date())
        assert daily[0].total_sessions == 1 and daily[0].total_turns == 1
    finally:
        await store.close()
