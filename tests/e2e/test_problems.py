"""Problems a user can meet, in headless Chromium: each shows its own message with a next
step, and a later problem never hides an earlier one that still applies.

Two backends (`liveavatar serve`, on the shared stack's emulator) make the problems: one
whose daily quota is zero and which admits one connection a minute, and one whose Live
endpoint does not answer. The page comes from a plain static server, since the stack's own
frontend lets its pages connect only to the stack's backend (CSP connect-src).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from bench._browser import (
    REPO,
    START_TIMEOUT_S,
    Stack,
    free_ports,
    http_ok,
    log_tail,
    origins,
    start_process,
    stop_process,
    wait_until,
)
from playwright.sync_api import expect

from tests.e2e.avatar_page import TURN_TIMEOUT_MS, AvatarPage, OpenPage

pytestmark = pytest.mark.slow

#: The next step each problem must name (matched in its text).
NEXT_STEP = {
    "mic_denied": re.compile("Allow"),
    "backend_unreachable": re.compile("Retrying"),
    "quota_exceeded": re.compile("Try again later"),
    "rate_limited": re.compile("Wait a minute"),
    "live_unavailable": re.compile("press Start again"),
}


class Servers:
    """The static frontend and the two backends, by what they refuse."""

    def __init__(self, frontend: int, limited: int, no_live: int) -> None:
        self.frontend = frontend
        self.limited = limited
        self.no_live = no_live

    def page_url(self, backend_port: int) -> str:
        query = urlencode({"autostart": "1", "avatar": "drawn", "backend": ws(backend_port)})
        return f"http://127.0.0.1:{self.frontend}/?{query}"


def start_backend(
    workdir: Path, name: str, stack: Stack, frontend: int, env: dict[str, str]
) -> tuple[int, subprocess.Popen[bytes]]:
    (port,) = free_ports(1)
    cert = stack.log.parent / "emulator" / "cert.pem"
    full_env = {
        "NO_GCE_CHECK": "true",
        "LIVE_BACKEND": "emulator",
        "VERTEX_AI_ENDPOINT": f"https://127.0.0.1:{stack.emulator_port}",
        "LIVE_CA_FILE": str(cert),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ALLOWED_ORIGINS": origins(frontend),
        "DATA_DIR": str(workdir / name),
        "MEDIA_DIR": str(workdir / name / "media"),
        "SHUTDOWN_GRACE_S": "1",
        **env,
    }
    proc = start_process(["-m", "liveavatar", "serve"], full_env, workdir / f"{name}.log")
    return port, proc


@pytest.fixture(scope="module")
def servers(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("problems")
    dead, frontend = free_ports(2)
    with contextlib.ExitStack() as cleanup:
        static = ["-m", "http.server", "--bind", "127.0.0.1", str(frontend)]
        static += ["--directory", str(REPO / "frontend")]
        started: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
        started["frontend"] = (frontend, start_process(static, {}, workdir / "frontend.log"))
        cleanup.callback(stop_process, started["frontend"][1])
        for name, env in {
            "limited": {"QUOTA_MINUTES_PER_DAY": "0", "RATE_LIMIT_CONNECTIONS": "1"},
            "no_live": {"VERTEX_AI_ENDPOINT": f"https://127.0.0.1:{dead}"},
        }.items():
            port, proc = start_backend(workdir, name, stack, frontend, env)
            cleanup.callback(stop_process, proc)
            started[name] = (port, proc)
        for name, (port, proc) in started.items():
            path = "/" if name == "frontend" else "/healthz"
            try:
                wait_until(
                    lambda url=f"http://127.0.0.1:{port}{path}": http_ok(url),  # type: ignore[misc]
                    timeout_s=START_TIMEOUT_S,
                    what=name,
                    alive=lambda proc=proc: proc.poll() is None,  # type: ignore[misc]
                )
            except (TimeoutError, RuntimeError) as exc:
                raise RuntimeError(f"{exc}\n{log_tail(workdir / f'{name}.log')}") from exc
        yield Servers(frontend, started["limited"][0], started["no_live"][0])


def ws(port: int) -> str:
    return f"ws://127.0.0.1:{port}/ws"


def shown(page: AvatarPage, *codes: str) -> None:
    """Wait until the banner shows exactly `codes`, newest first, each with its next step."""
    banner = page.testid("error")
    expect(banner).to_have_attribute("data-codes", " ".join(codes), timeout=TURN_TIMEOUT_MS)
    rows = banner.locator(".problem")
    expect(rows).to_have_count(len(codes))
    texts = []
    for i, code in enumerate(codes):
        row = rows.nth(i)
        expect(row).to_have_attribute("data-code", code)
        expect(row).to_contain_text(NEXT_STEP[code])
        texts.append(row.inner_text())
    assert len(set(texts)) == len(texts), "each problem has its own message"
    assert page.hook("h.problems") == list(codes)


def test_backend_down_at_start_with_the_microphone_denied_shows_both(
    servers: Servers, open_page: OpenPage
) -> None:
    (dead,) = free_ports(1)
    page = open_page(servers.page_url(dead), grant_mic=False)
    shown(page, "backend_unreachable", "mic_denied")
    expect(page.testid("error").locator(".problem").first).to_contain_text(ws(dead))
    page.wait_state("reconnecting")
    page.screenshot("two-problems")


def test_quota_reached_keeps_the_microphone_problem_and_rate_limit_follows(
    servers: Servers, open_page: OpenPage
) -> None:
    page = open_page(servers.page_url(servers.limited), grant_mic=False)
    shown(page, "quota_exceeded", "mic_denied")
    page.wait_state("error")
    page.screenshot("quota")

    # A second connection within the minute: refused before the quota is even asked.
    page.testid("start").click()
    shown(page, "rate_limited", "mic_denied")
    assert [e["code"] for e in page.events("socket-closed")] == [4430, 4429]


def test_live_unavailable_says_so_and_the_session_stops(
    servers: Servers, open_page: OpenPage
) -> None:
    page = open_page(servers.page_url(servers.no_live))
    shown(page, "live_unavailable")
    page.wait_state("error")
    expect(page.testid("start")).to_be_enabled()
    closed = page.events("socket-closed")
    assert [e["code"] for e in closed] == [4503], json.dumps(closed)


def test_a_backend_the_page_may_not_reach_is_reported_not_waited_for(
    stack: Stack, open_page: OpenPage
) -> None:
    # The stack's page may connect only to its own backend (CSP connect-src): Chromium
    # blocks the socket without ever closing it, and the page gives the attempt up.
    (other,) = free_ports(1)
    page = open_page(stack.page_url(backend=ws(other)))
    expect(page.testid("error")).to_have_attribute(
        "data-code", "backend_unreachable", timeout=2 * TURN_TIMEOUT_MS
    )
    page.wait_state("reconnecting")
