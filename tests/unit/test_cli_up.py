"""`liveavatar up`'s URLs: the services it starts on this machine find each other."""

from __future__ import annotations

import pytest

from liveavatar.cli import _local_urls
from liveavatar.settings import Settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKEND_URL", "DASHBOARD_URL", "PORT", "DASHBOARD_PORT", "ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("K_SERVICE", raising=False)


def test_urls_follow_the_ports_when_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9191")
    monkeypatch.setenv("DASHBOARD_PORT", "8600")
    s = _local_urls(Settings(_env_file=None))  # type: ignore[call-arg]
    assert s.backend_url == "ws://localhost:9191"
    assert s.dashboard_url == "http://localhost:8600"


def test_explicit_urls_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9191")
    monkeypatch.setenv("BACKEND_URL", "wss://avatar.example.com")
    monkeypatch.setenv("DASHBOARD_URL", "https://admin.example.com")
    s = _local_urls(Settings(_env_file=None))  # type: ignore[call-arg]
    assert s.backend_url == "wss://avatar.example.com"
    assert s.dashboard_url == "https://admin.example.com"
