"""Stand-ins for Google's hosts, shared by a module's tests, and the conversation they run.

Per test run: the rehearsal CA and certificate, and the OAuth token endpoint. Per module:
one emulator for the Gemini Developer API (accepting only the API key) and one for Vertex
AI (accepting only the access token the token endpoint issues), both serving the
certificate for Google's names. Each backend process is told, through its name mapping,
only the hosts its configuration should need: reaching any other fails.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from liveavatar.audio.pcm import rms
from liveavatar.emulator.config import EmulatorConfig
from liveavatar.emulator.server import EmulatorServer
from liveavatar.emulator.stt import RecognizerPool
from tests.support.browser import BrowserLog, browser, count, stream_speech
from tests.support.rehearsal.pki import StandInPki, make_pki
from tests.support.rehearsal.token_endpoint import TokenEndpoint, UserCredentials

# Shaped like the real thing, so a leak would look like one.
GEMINI_KEY = "AIzaSyRehearsal-key-0123456789abcdefghi"
CREDENTIALS = UserCredentials(
    client_id="123456789-rehearsal.apps.googleusercontent.com",
    client_secret="GOCSPX-rehearsal-client-secret",
    refresh_token="1//0rehearsal-refresh-token",
    access_token="ya29.rehearsal-access-token",
    quota_project="rehearsal-project",
)
PROJECT = "rehearsal-project"
CLIENTS = ["raw", "picows", "sdk"]


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> StandInPki:
    return make_pki(tmp_path_factory.mktemp("rehearsal-pki"))


@pytest.fixture(scope="session")
def token_endpoint(pki: StandInPki) -> Iterator[TokenEndpoint]:
    with TokenEndpoint(pki, CREDENTIALS) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def adc_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`GOOGLE_APPLICATION_CREDENTIALS`: an `authorized_user` file, as gcloud writes it."""
    return CREDENTIALS.write(tmp_path_factory.mktemp("adc") / "application_default.json")


@dataclass(frozen=True)
class StandIns:
    gemini: EmulatorServer
    vertex: EmulatorServer
    token: TokenEndpoint


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stand_ins(
    pki: StandInPki, recognizers: RecognizerPool, token_endpoint: TokenEndpoint
) -> AsyncIterator[StandIns]:
    servers = [
        EmulatorServer(
            EmulatorConfig(port=0, cert_dir=pki.cert_dir, api_key=credential),
            recognizers=recognizers,
        )
        for credential in (GEMINI_KEY, CREDENTIALS.access_token)
    ]
    for server in servers:
        await server.start()
    try:
        yield StandIns(servers[0], servers[1], token_endpoint)
    finally:
        for server in servers:
            await server.close()


async def converse(ws_url: str, hello: dict[str, Any] | None = None) -> BrowserLog:
    """One conversation through a simulated browser: a spoken question that makes the
    model call the backend's `get_current_time` and speak its result, then, as soon as
    that answer is heard, a typed request (which barges in: the rest of the long answer
    would only cost time). `hello` replaces the default one (e.g. to sign in)."""
    async with browser(ws_url, hello=hello) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await stream_speech(ws, "what time is it")
        await log.wait_for(lambda log: "time is" in _model_text(log) and len(log.audio()) > 0)
        await ws.send(json.dumps({"type": "text", "text": "tell me a joke"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 2)
    return log


def _model_text(log: BrowserLog) -> str:
    return " ".join(m["text"] for m in log.messages("transcript") if m["role"] == "model")


def assert_conversation(log: BrowserLog) -> None:
    """What `converse` must have produced: both turns heard and answered aloud, the tool
    run and its result spoken."""
    assert log.final("user") == ["what time is it", "tell me a joke"]
    tools = log.messages("tool")
    assert [(t["name"], t["status"]) for t in tools] == [
        ("get_current_time", "started"),
        ("get_current_time", "finished"),
    ]
    answers = log.final("model")
    assert len(answers) == 2
    # The tool's result reached Live and came back spoken.
    assert "time is" in answers[0] and ("AM" in answers[0] or "PM" in answers[0])
    assert "scarecrow" in answers[1]
    assert len(log.audio()) > 48_000 and rms(log.audio()) > 0.01
    assert not log.messages("error")


async def open_session(ws_url: str) -> BrowserLog:
    """A session that waits for `ready` (Live opened) and says goodbye."""
    async with browser(ws_url) as (ws, log):
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "bye"}))
        await log.wait_for(lambda log: log.close_code is not None)
    return log


def failed_opens(lines: list[dict[str, object]]) -> list[dict[str, object]]:
    return [line for line in lines if line.get("message") == "Live connection attempt failed"]


@pytest.fixture(autouse=True)
def no_leftover_token_failures(token_endpoint: TokenEndpoint) -> Iterator[None]:
    """A test that ended before using the failures it asked for must not pass them on."""
    yield
    token_endpoint.reset()
