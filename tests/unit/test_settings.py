"""Settings: the seed's variable names, env files, and production refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from liveavatar.settings import (
    PRODUCTION_SOCKET_MAX_AGE_S,
    Settings,
    check_serving,
    check_storage,
    describe_errors,
    is_placeholder,
    serving_problems,
    storage_problems,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "ENVIRONMENT",
        "PROJECT_ID",
        "MODEL",
        "VOICE",
        "LIVE_BACKEND",
        "GEMINI_API_KEY",
        "VERTEX_AI_ENDPOINT",
        "VERTEX_LOCATION",
        "BACKEND_URL",
        "K_SERVICE",
        "TRUSTED_PROXY_HOPS",
        "FIRESTORE_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
        "FIREBASE_AUTH_EMULATOR_HOST",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_offline_embedded_ones() -> None:
    s = Settings()
    assert s.environment == "local"
    assert s.live_backend == "emulator"
    assert s.emulator_port == 9000
    assert s.emulator_connection_lifetime_s == 600
    assert s.socket_max_age_s is None  # the backend never renews a local socket by default


def test_seed_names_and_env_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MODEL=from-env\nVOICE=Kore\nVERTEX_LOCATION=europe-west4\n")
    (tmp_path / ".env.local").write_text("MODEL=from-env-local\n")
    monkeypatch.setenv("BACKEND_URL", "ws://example.test:8080")
    s = Settings()
    assert s.model == "from-env-local"  # .env.local overrides .env
    assert s.voice == "Kore"
    assert s.vertex_location == "europe-west4"
    assert s.backend_url == "ws://example.test:8080"


def test_production_refuses_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("PROJECT_ID", "your-project-id")
    monkeypatch.setenv("LIVE_BACKEND", "gemini")
    monkeypatch.setenv("GEMINI_API_KEY", "changeme")
    with pytest.raises(ValidationError) as info:
        Settings()
    text = describe_errors(info.value)
    assert "PROJECT_ID is missing or a placeholder" in text
    assert "GEMINI_API_KEY is missing or a placeholder" in text
    assert "changeme" not in text  # the secret is never echoed


def test_production_refuses_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("PROJECT_ID", "acme-avatar-prod")
    with pytest.raises(ValidationError, match="LIVE_BACKEND=emulator"):
        Settings()
    monkeypatch.setenv("LIVE_BACKEND", "vertex")
    monkeypatch.setenv("VERTEX_AI_ENDPOINT", "https://127.0.0.1:9000")
    with pytest.raises(ValidationError, match="local emulator"):
        Settings()


def test_valid_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("PROJECT_ID", "acme-avatar-prod")
    monkeypatch.setenv("LIVE_BACKEND", "vertex")
    monkeypatch.setenv("AUTH_ENABLED", "true")
    assert Settings().is_production
    assert Settings().socket_max_age_s == PRODUCTION_SOCKET_MAX_AGE_S
    monkeypatch.setenv("SOCKET_MAX_AGE_S", "1800")
    assert Settings().socket_max_age_s == 1800


def test_production_refuses_auth_off_or_emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("PROJECT_ID", "acme-avatar-prod")
    monkeypatch.setenv("LIVE_BACKEND", "vertex")
    with pytest.raises(ValidationError, match="AUTH_ENABLED must be true"):
        Settings()
    monkeypatch.setenv("AUTH_ENABLED", "true")
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    with pytest.raises(ValidationError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        Settings()


def test_production_refuses_the_storage_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("PROJECT_ID", "acme-avatar-prod")
    monkeypatch.setenv("LIVE_BACKEND", "vertex")
    monkeypatch.setenv("AUTH_ENABLED", "true")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9023")
    with pytest.raises(ValidationError, match="STORAGE_EMULATOR_HOST is set"):
        Settings()


def serving(**values: Any) -> Settings:
    """Production settings fit to serve, with `values` laid over them."""
    good: dict[str, Any] = {
        "environment": "production",
        "project_id": "acme-avatar-prod",
        "live_backend": "vertex",
        "auth_enabled": True,
        "store_backend": "firestore",
        "media_backend": "gcs",
        "media_bucket": "acme-avatar-media",
        "allowed_origins": ["https://avatar.example.com"],
    }
    return Settings(_env_file=None, **{**good, **values})  # type: ignore[call-arg]


def test_production_fit_to_serve() -> None:
    assert serving_problems(serving()) == []
    check_serving(serving())
    # Local media is fine with a key every instance shares.
    shared = serving(media_backend="local", media_signing_secret="k3y-shared-by-all-instances")
    assert serving_problems(shared) == []


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"store_backend": "sqlite"}, "STORE_BACKEND=sqlite"),
        ({"media_backend": "local"}, "MEDIA_SIGNING_SECRET"),
        ({"media_backend": "local", "media_signing_secret": "changeme"}, "MEDIA_SIGNING_SECRET"),
        ({"allowed_origins": ["http://localhost:8000"]}, "ALLOWED_ORIGINS"),
        (
            {"allowed_origins": ["http://127.0.0.1:8000", "https://app.localhost", "http://[::1]"]},
            "ALLOWED_ORIGINS",
        ),
        ({"allowed_origins": []}, "ALLOWED_ORIGINS"),
    ],
)
def test_production_refuses_to_serve(values: dict[str, Any], named: str) -> None:
    problems = serving_problems(serving(**values))
    assert len(problems) == 1 and named in problems[0]
    with pytest.raises(ValueError, match="refusing to start in production: .*" + named):
        check_serving(serving(**values))


def test_serving_checks_only_production() -> None:
    local = Settings(_env_file=None)  # type: ignore[call-arg]
    assert local.store_backend == "sqlite" and local.media_signing_secret is None
    assert serving_problems(local) == []


def test_trusted_proxy_hops_follow_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().trusted_proxy_hops == 0  # direct: the TCP peer is the client
    monkeypatch.setenv("K_SERVICE", "liveavatar-backend")
    assert Settings().trusted_proxy_hops == 1  # Cloud Run's front end appends one entry
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "2")  # a load balancer in front of it
    assert Settings().trusted_proxy_hops == 2


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        (None, True),
        ("", True),
        ("changeme", True),
        ("<your key>", True),
        ("xxxx", True),
        ("AIzaSyRealLookingKey123", False),
    ],
)
def test_is_placeholder(value: str | None, placeholder: bool) -> None:
    assert is_placeholder(value) is placeholder


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"store_backend": "sqlite"}, "STORE_BACKEND=sqlite"),
        ({"media_backend": "local"}, "MEDIA_SIGNING_SECRET"),
    ],
)
def test_production_refuses_a_store_of_one_machine(values: dict[str, Any], named: str) -> None:
    problems = storage_problems(serving(**values))
    assert len(problems) == 1 and named in problems[0]
    with pytest.raises(ValueError, match="refusing to start in production: .*" + named):
        check_storage(serving(**values))


def test_storage_checks_leave_origins_to_serve() -> None:
    # The dashboard and purge answer no browser of the site: their origins do not matter.
    assert storage_problems(serving(allowed_origins=["http://localhost:8000"])) == []
    assert storage_problems(Settings(_env_file=None)) == []  # type: ignore[call-arg]
