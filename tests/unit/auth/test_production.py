"""Production refuses to start with auth off or the Auth emulator switch set."""

from __future__ import annotations

import pytest

from liveavatar.auth import check_production_auth, production_auth_problems
from tests.support.auth_certs import FakeAuthSettings

GOOD = FakeAuthSettings(environment="production", auth_enabled=True, project_id="avatar-prod")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("SECRET_MANAGER_EMULATOR_HOST", raising=False)


def test_a_sound_production_config_passes() -> None:
    check_production_auth(GOOD)


def test_local_runs_may_do_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    check_production_auth(FakeAuthSettings())


def test_auth_emulator_host_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    with pytest.raises(ValueError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        check_production_auth(GOOD)


def test_auth_off_is_refused_in_production() -> None:
    off = FakeAuthSettings(environment="production", auth_enabled=False, project_id="p")
    with pytest.raises(ValueError, match="AUTH_ENABLED must be true"):
        check_production_auth(off)


def test_every_problem_is_named_at_once() -> None:
    bad = FakeAuthSettings(
        environment="production",
        auth_enabled=False,
        project_id=None,
        firebase_certs_url="http://127.0.0.1:8123/x509",
    )
    environ = {"FIREBASE_AUTH_EMULATOR_HOST": "x", "SECRET_MANAGER_EMULATOR_HOST": "y"}
    problems = production_auth_problems(bad, environ)
    assert len(problems) == 5
    assert any("FIREBASE_CERTS_URL" in p for p in problems)
    assert any("SECRET_MANAGER_EMULATOR_HOST" in p for p in problems)
