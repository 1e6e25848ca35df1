"""No secret in any response or log line, and tokens for another project refused.

`liveavatar serve` runs as a process, logging at DEBUG (the most it ever says), with
distinctive values for every secret it holds: the Live API key, the media signing secret,
the admin token. Browsers sign in with Firebase ID tokens, keep a browser key, and resume
their session by id; one sends a token for another Firebase project, one a token that is
not a token, one tries to resume someone else's session. Everything captured is then
searched: the process's output, every HTTP response (headers and body) and every
WebSocket message. A session id may reach its own browser (`ready`), nowhere else.

A second backend whose API key Live refuses shows the refusal to the browser and logs it
without the key. Logs naming session ids only by reference are checked in-process by
`tests/integration/server/test_session_ownership.py`; this is the same over all outputs.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from liveavatar.errors import CLOSE_LIVE_REFUSED, CLOSE_UNAUTHORIZED
from tests.integration.conftest import StartEmulator
from tests.support.auth_certs import PROJECT, CertsServer, SigningKeys
from tests.support.browser import BrowserLog, browser, count
from tests.support.procs import serve_process

API_KEY = "AIzaSyLEAK-apikey-7q2x9c4v1b8n"
WRONG_API_KEY = "AIzaSyLEAK-wrongkey-0p9o8i7u6y5t"
MEDIA_SECRET = "LEAK-media-signing-3k5j7h9g2f4d6s8a"
ADMIN_TOKEN = "LEAK-admin-token-1z3x5c7v9b2n4m6q"
BROWSER_KEY = "LEAK-browserkey-5r4e3w2q1a0s"
NOT_A_TOKEN = "LEAK-not-a-token-8u7y6t5r4e3w"
STOP_S = 20.0


@dataclass
class Captured:
    """Everything the backend said to anyone, as text."""

    output: bytearray = field(default_factory=bytearray)  # the process's stdout and stderr
    http: list[str] = field(default_factory=list)
    sockets: dict[str, BrowserLog] = field(default_factory=dict)  # by who connected

    def everywhere(self) -> dict[str, str]:
        texts = {"process output": self.output.decode(errors="replace")}
        texts.update({f"http {i}": text for i, text in enumerate(self.http)})
        for who, log in self.sockets.items():
            texts[f"socket of {who}"] = json.dumps(log.messages()) + log.close_reason
        return texts


def variants(secret: str) -> list[str]:
    """The secret as it could leak: verbatim, as JSON escapes it, and base64."""
    return [secret, json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()[:-4]]


def leaks(captured: Captured, secret: str, *, allowed_in: set[str] | None = None) -> list[str]:
    """Where the secret shows, with the text around it (the secret itself masked)."""
    found = []
    for where, text in captured.everywhere().items():
        if where in (allowed_in or set()):
            continue
        for variant in variants(secret):
            at = text.find(variant)
            if at >= 0:
                around = text[max(0, at - 200) : at] + "<SECRET>" + text[at + len(variant) :][:80]
                found.append(f"{where}: ...{around}")
    return found


@contextlib.asynccontextmanager
async def backend(
    start_emulator: StartEmulator, certs: CertsServer, api_key: str, captured: Captured
) -> AsyncIterator[int]:
    """A signed-in backend process holding distinctive secrets; its output is `captured`
    until it has shut down on SIGTERM."""
    emulator = await start_emulator(api_key=API_KEY)
    env = {
        "GEMINI_API_KEY": api_key,
        "MEDIA_SIGNING_SECRET": MEDIA_SECRET,
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "AUTH_ENABLED": "true",
        "FIREBASE_PROJECT_ID": PROJECT,
        "FIREBASE_CERTS_URL": certs.url("/x509"),
        "LOG_LEVEL": "DEBUG",
        "ALLOWED_ORIGINS": '["http://localhost:8000"]',
    }
    async with serve_process(emulator, capture=True, env=env) as (proc, port):
        assert proc.stdout is not None
        stdout = proc.stdout

        async def drain() -> None:
            while chunk := await stdout.read(65536):
                captured.output.extend(chunk)

        reader = asyncio.create_task(drain(), name="backend-output")
        try:
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(STOP_S):
                await proc.wait()
                await reader


async def get_all(port: int, captured: Captured) -> None:
    paths = [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/config",
        "/api/page-config",
        "/api/videos",
        "/openapi.json",
        "/media/avatar/idle.mp4",
        "/media/avatar/idle.mp4?exp=1&sig=AAAA",
        "/no-such-page",
        f"/api/config?admin_token={ADMIN_TOKEN}",
    ]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for path in paths:
            response = await http.get(path, headers={"x-admin-token": ADMIN_TOKEN})
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            captured.http.append(f"GET {path.split('?')[0]}\n{headers}\n\n{response.text}")


def hello(token: str, **fields: Any) -> dict[str, Any]:
    return {"type": "hello", "version": 1, "token": token, **fields}


async def talk(url: str, first: dict[str, Any], captured: Captured, who: str) -> BrowserLog:
    async with browser(url, hello=first) as (ws, log):
        captured.sockets[who] = log
        await log.wait_for(lambda log: count("ready")(log) == 1)
        await ws.send(json.dumps({"type": "text", "text": "what is your name"}))
        await log.wait_for(lambda log: count("turn_complete")(log) >= 1)
        await ws.send(json.dumps({"type": "bye"}))
        await log.wait_for(lambda log: log.close_code is not None)
    return log


async def refused(url: str, first: dict[str, Any], captured: Captured, who: str) -> BrowserLog:
    async with browser(url, hello=first) as (_ws, log):
        captured.sockets[who] = log
        await log.wait_for(lambda log: log.close_code is not None)
    return log


async def test_no_secret_reaches_a_response_or_a_log_line(
    start_emulator: StartEmulator, certs: CertsServer, signing_keys: SigningKeys
) -> None:
    captured = Captured()
    owner_token = signing_keys.firebase_token()
    intruder_token = signing_keys.firebase_token(sub="intruder-9", user_id="intruder-9")
    foreign_token = signing_keys.firebase_token(
        aud="someone-elses-project", iss="https://securetoken.google.com/someone-elses-project"
    )
    async with backend(start_emulator, certs, API_KEY, captured) as port:
        url = f"ws://127.0.0.1:{port}/ws"
        first = await talk(url, hello(owner_token, browser_key=BROWSER_KEY), captured, "owner")
        session_id = first.messages("ready")[0]["session_id"]
        again = hello(owner_token, browser_key=BROWSER_KEY, session_id=session_id)
        resumed = await talk(url, again, captured, "owner resuming")
        assert resumed.messages("ready")[0] == {**resumed.messages("ready")[0], "resumed": True}
        stolen = hello(intruder_token, session_id=session_id)
        intruder = await talk(url, stolen, captured, "intruder")
        assert intruder.messages("ready")[0]["resumed"] is False
        foreign = await refused(url, hello(foreign_token), captured, "another project's user")
        garbage = await refused(url, hello(NOT_A_TOKEN), captured, "a forger")
        await get_all(port, captured)

    # Tokens for another project, and anything that is not a token, are refused.
    for log in (foreign, garbage):
        assert log.close_code == CLOSE_UNAUTHORIZED
        assert [e["code"] for e in log.messages("error")] == ["unauthorized"]
    secrets = [
        API_KEY,
        MEDIA_SECRET,
        ADMIN_TOKEN,
        BROWSER_KEY,
        NOT_A_TOKEN,
        owner_token,
        intruder_token,
        foreign_token,
    ]
    for secret in secrets:
        assert leaks(captured, secret) == []
    # The session id reaches its owner's browser only.
    mine = {"socket of owner", "socket of owner resuming"}
    assert leaks(captured, session_id, allowed_in=mine) == []
    # The run really happened and was logged (a silent process would pass the above).
    assert b'"session ready"' in captured.output and b'"severity": "DEBUG"' in captured.output


async def test_a_refused_api_key_is_reported_without_the_key(
    start_emulator: StartEmulator, certs: CertsServer, signing_keys: SigningKeys
) -> None:
    captured = Captured()
    async with backend(start_emulator, certs, WRONG_API_KEY, captured) as port:
        url = f"ws://127.0.0.1:{port}/ws"
        log = await refused(url, hello(signing_keys.firebase_token()), captured, "a user")
    assert log.close_code == CLOSE_LIVE_REFUSED
    assert [e["code"] for e in log.messages("error")] == ["live_refused"]
    assert leaks(captured, WRONG_API_KEY) == []
    assert leaks(captured, API_KEY) == []
