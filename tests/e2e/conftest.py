"""Fixtures for the browser end-to-end tests: the whole product (`liveavatar up`) as a
child process, and headless Chromium whose microphone is a generated WAV file.

The tests use Playwright's sync API and are plain (non-async) tests: the sync API refuses
to run inside a running asyncio loop, and a sync test under pytest-asyncio has none. Each
test starts its own Playwright driver, so no Playwright loop outlives the test and meets
the async tests of other modules.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bench._browser import PROBE_SCRIPT, MicAudio, Stack, launch_options, liveavatar_up, mic_audio
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.avatar_page import AvatarPage, OpenPage
from tests.e2e.host_site import HostSite, host_site

#: What a failed test's call phase reported, for the page fixture's teardown.
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember failures, so the page fixture can save what the page looked like."""
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


@dataclass(frozen=True)
class HostSites:
    """Two other websites embedding the widget: the backend allows one, not the other."""

    allowed: HostSite
    refused: HostSite


@pytest.fixture(scope="session")
def host_sites() -> Iterator[HostSites]:
    with host_site() as allowed, host_site() as refused:
        yield HostSites(allowed, refused)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, host_sites: HostSites) -> Iterator[Stack]:
    """`python -m liveavatar up` on free ports, shared by the tests that need no restart;
    its ALLOWED_ORIGINS hold the frontend and the allowed host site."""
    workdir = tmp_path_factory.mktemp("liveavatar-up")
    with liveavatar_up(workdir, extra_origins=[host_sites.allowed.origin]) as running:
        yield running


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture
def open_page(
    playwright: Playwright, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[OpenPage]:
    """Open the avatar page in a fresh Chromium whose fake microphone plays `audio`.

    Call as `open_page(url, audio=mic_audio(...), grant_mic=True, extra_args=[...],
    init_scripts=(), **context)`: `extra_args` are more Chromium flags (e.g. a fake
    camera's file), `init_scripts` run in the page before its own, `context` overrides
    the browser context's options (a phone's viewport, `is_mobile`, `has_touch`). The
    browser is closed at the end of the test; a failed test leaves its screenshot and
    event log in test-artifacts/e2e/.
    """
    browsers: list[Browser] = []
    pages: list[AvatarPage] = []

    def open_(
        url: str,
        *,
        audio: MicAudio | None = None,
        grant_mic: bool = True,
        extra_args: Sequence[str] = (),
        init_scripts: Sequence[str] = (),
        **context_options: Any,
    ) -> AvatarPage:
        wav = (audio or mic_audio()).write(tmp_path / f"mic-{len(browsers)}.wav")
        options = launch_options(wav, grant_mic=grant_mic)
        options["args"] = [*options["args"], *extra_args]
        browser = playwright.chromium.launch(**options)
        browsers.append(browser)
        viewport = {"viewport": {"width": 1100, "height": 760}}
        context = browser.new_context(**{**viewport, **context_options})
        page = context.new_page()
        for script in (PROBE_SCRIPT, *init_scripts):
            page.add_init_script(script)
        avatar = AvatarPage(page, request.node.name)
        page.on("pageerror", lambda exc: avatar.console.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: avatar.console.append(f"{msg.type}: {msg.text}"))
        pages.append(avatar)
        page.goto(url)
        return avatar

    yield open_
    if request.node.stash.get(FAILED, False):
        for avatar in pages:
            avatar.dump()
    for browser in browsers:
        browser.close()
