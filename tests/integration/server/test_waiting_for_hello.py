"""Sockets that never say hello cannot fill the instance; a full one says "retry" (1013)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from liveavatar.emulator.server import EmulatorServer
from tests.integration.server.conftest import StartBackend, backend_settings
from tests.support.browser import BrowserLog, browser, count


@contextlib.asynccontextmanager
async def idle_sockets(url: str, n: int) -> AsyncIterator[list[BrowserLog]]:
    """`n` connections that are accepted and then say nothing."""
    async with contextlib.AsyncExitStack() as stack:
        logs = []
        for _ in range(n):
            _ws, log = await stack.enter_async_context(browser(url, hello={}))
            logs.append(log)
        yield logs


async def test_idle_sockets_are_bounded_and_cut_short_under_pressure(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(
        emulator, max_waiting_hello=6, hello_timeout_s=60, hello_timeout_pressed_s=0.3
    )
    backend = await start_backend(settings)
    # Once half the waiting places are taken, the next idle sockets get the short wait.
    async with (
        idle_sockets(backend.ws_url, 3) as early,
        idle_sockets(backend.ws_url, 3) as late,
    ):
        for log in late:
            await log.wait_for(lambda log: log.close_code is not None)
            assert log.close_code == 4408
            assert log.messages("error")[0]["code"] == "bad_request"
        assert all(log.close_code is None for log in early)
        # A real page, meanwhile, is served at once.
        async with browser(backend.ws_url) as (_ws, log):
            await log.wait_for(lambda log: count("ready")(log) == 1)
    assert backend.state.capacity.waiting == 0


async def test_a_full_instance_closes_with_1013_after_accepting(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    settings = backend_settings(emulator, max_waiting_hello=2, hello_timeout_s=60)
    backend = await start_backend(settings)
    async with idle_sockets(backend.ws_url, 2):
        # The upgrade succeeds (a browser could not read an HTTP 403 apart from "forbidden")
        # and the close says "try again".
        async with browser(backend.ws_url) as (_ws, log):
            await log.wait_for(lambda log: log.close_code is not None)
        assert log.close_code == 1013
        assert "retry" in log.close_reason
    async with browser(backend.ws_url) as (_ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)


async def test_max_sessions_reached_closes_with_1013(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator, max_sessions=1))
    async with browser(backend.ws_url) as (_ws, first):
        await first.wait_for(lambda log: count("ready")(log) == 1)
        async with browser(backend.ws_url) as (_ws2, second):
            await second.wait_for(lambda log: log.close_code is not None)
        assert second.close_code == 1013


async def test_an_invalid_hello_closes_with_4400(
    emulator: EmulatorServer, start_backend: StartBackend
) -> None:
    backend = await start_backend(backend_settings(emulator))
    for first in ({"type": "hello"}, {"type": "hello", "version": 1, "browser_key": "short"}):
        async with browser(backend.ws_url, hello=first) as (_ws, log):
            await log.wait_for(lambda log: log.close_code is not None)
        assert log.close_code == 4400
        assert log.messages("error")[0]["code"] == "bad_request"
