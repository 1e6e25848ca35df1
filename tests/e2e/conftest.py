"""Fixtures for the browser end-to-end tests: the whole product (`liveavatar up`) as a
child process, and headless Chromium whose microphone is a generated WAV file.

The tests use Playwright's sync API and are plain (non-async) tests: the sync API refuses
to run inside a running asyncio loop, and a sync test under pytest-asyncio has none. Each
test starts its own Playwright driver, so no Playwright loop outlives the test and meets
the async tests of other modules.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from pathlib import Path

import pytest
from bench._browser import PROBE_SCRIPT, MicAudio, Stack, launch_options, liveavatar_up, mic_audio
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.e2e.avatar_page import AvatarPage, OpenPage

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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`python -m liveavatar up` on free ports, shared by the tests that need no restart."""
    with liveavatar_up(tmp_path_factory.mktemp("liveavatar-up")) as running:
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

    Call as `open_page(url, audio=mic_audio(...), grant_mic=True, extra_args=[...])`
    (more Chromium flags, e.g. a fake camera's file). The browser is
    closed at the end of the test; a failed test leaves its screenshot and event log in
    test-artifacts/e2e/.
    """
    browsers: list[Browser] = []
    pages: list[AvatarPage] = []

    def open_(
        url: str,
        *,
        audio: MicAudio | None = None,
        grant_mic: bool = True,
        extra_args: Sequence[str] = (),
    ) -> AvatarPage:
        wav = (audio or mic_audio()).write(tmp_path / f"mic-{len(browsers)}.wav")
        options = launch_options(wav, grant_mic=grant_mic)
        options["args"] = [*options["args"], *extra_args]
        browser = playwright.chromium.launch(**options)
        browsers.append(browser)
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.add_init_script(PROBE_SCRIPT)
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
