"""Secrets: `.env`/environment locally, Secret Manager through the real client and a stand-in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc
from google.cloud import secretmanager
from pydantic import SecretStr

from liveavatar.secrets import (
    EMULATOR_HOST_VARIABLE,
    EnvSecrets,
    MissingSecretError,
    SecretError,
    SecretManagerSecrets,
    build_secret_source,
    crc32c,
    resolve_secrets,
    secret_manager_client,
)
from liveavatar.settings import Settings
from tests.support.auth_certs import FakeAuthSettings
from tests.support.secret_manager_standin import SecretManagerStandIn

PROJECT = "demo-avatar"
GEMINI = "AIza-test-gemini-value-0001"
ADMIN = "admin-test-value-0002"


@pytest.fixture
def standin() -> Iterator[SecretManagerStandIn]:
    server = SecretManagerStandIn()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(standin: SecretManagerStandIn) -> Iterator[secretmanager.SecretManagerServiceClient]:
    with secret_manager_client(standin.target) as sm:
        yield sm


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    """Messages and every extra field of every record, as one string."""
    return "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)


def test_crc32c_known_answer() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_the_standin_behaves_like_the_service(
    client: secretmanager.SecretManagerServiceClient,
) -> None:
    parent = f"projects/{PROJECT}"
    secret = secretmanager.Secret(replication=secretmanager.Replication())
    client.create_secret(parent=parent, secret_id="API_KEY", secret=secret)
    with pytest.raises(gexc.AlreadyExists):
        client.create_secret(parent=parent, secret_id="API_KEY", secret=secret)
    name = f"{parent}/secrets/API_KEY"
    for value in (b"one", b"two"):
        client.add_secret_version(parent=name, payload=secretmanager.SecretPayload(data=value))
    latest = client.access_secret_version(name=f"{name}/versions/latest")
    assert latest.payload.data == b"two" and latest.name.endswith("/versions/2")
    assert latest.payload.data_crc32c == crc32c(b"two")
    assert client.access_secret_version(name=f"{name}/versions/1").payload.data == b"one"
    with pytest.raises(gexc.NotFound):
        client.access_secret_version(name=f"{name}/versions/3", retry=None)
    assert client.get_secret(name=name).name == name
    assert [s.name for s in client.list_secrets(parent=parent)] == [name]
    client.delete_secret(name=name)
    with pytest.raises(gexc.NotFound):
        client.get_secret(name=name, retry=None)


def test_secrets_are_fetched_once_and_never_logged(
    standin: SecretManagerStandIn,
    client: secretmanager.SecretManagerServiceClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    standin.put(PROJECT, "GEMINI_API_KEY", "old-value", GEMINI + "\n")
    standin.put(PROJECT, "ADMIN_TOKEN", ADMIN)
    source = SecretManagerSecrets(PROJECT, ["GEMINI_API_KEY", "ADMIN_TOKEN"], client)
    caplog.set_level(logging.DEBUG)
    source.load()
    source.load()  # once at start: a second call does nothing
    assert source.get("GEMINI_API_KEY") == GEMINI  # latest version, trailing newline dropped
    assert source.get("ADMIN_TOKEN") == ADMIN
    assert source.get("OTHER") is None
    accesses = [name for method, name in standin.calls if method == "AccessSecretVersion"]
    assert len(accesses) == 2
    text = all_log_text(caplog)
    assert "GEMINI_API_KEY" in text and "ADMIN_TOKEN" in text
    for value in (GEMINI, ADMIN, "old-value"):
        assert value not in text
        assert value not in repr(source) and value not in repr(vars(source))


def test_a_missing_secret_is_named_without_values(
    standin: SecretManagerStandIn,
    client: secretmanager.SecretManagerServiceClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    standin.put(PROJECT, "ADMIN_TOKEN", ADMIN)
    source = SecretManagerSecrets(PROJECT, ["ADMIN_TOKEN", "GEMINI_API_KEY"], client)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(MissingSecretError) as info:
        source.load()
    assert info.value.names == ["GEMINI_API_KEY"]
    assert "GEMINI_API_KEY" in str(info.value) and PROJECT in str(info.value)
    assert ADMIN not in str(info.value) and ADMIN not in all_log_text(caplog)
    assert not source.loaded and source.get("ADMIN_TOKEN") is None


def test_optional_secrets_may_be_absent(
    standin: SecretManagerStandIn, client: secretmanager.SecretManagerServiceClient
) -> None:
    standin.put(PROJECT, "GEMINI_API_KEY", GEMINI)
    source = SecretManagerSecrets(PROJECT, ["GEMINI_API_KEY"], client, optional=["ADMIN_TOKEN"])
    source.load()
    assert source.get("ADMIN_TOKEN") is None and source.get("GEMINI_API_KEY") == GEMINI


@pytest.mark.parametrize("least_privilege", [False, True], ids=["not-found", "denied"])
def test_an_absent_optional_secret_is_one_warning(
    standin: SecretManagerStandIn,
    client: secretmanager.SecretManagerServiceClient,
    caplog: pytest.LogCaptureFixture,
    least_privilege: bool,
) -> None:
    standin.put(PROJECT, "GEMINI_API_KEY", GEMINI)
    standin.put(PROJECT, "MEDIA_SIGNING_SECRET", "media-secret-value-0003")
    standin.denied = {"MEDIA_SIGNING_SECRET"}  # exists, not granted
    standin.least_privilege = least_privilege  # ADMIN_TOKEN does not exist
    source = SecretManagerSecrets(
        PROJECT, ["GEMINI_API_KEY"], client, optional=["ADMIN_TOKEN", "MEDIA_SIGNING_SECRET"]
    )
    caplog.set_level(logging.INFO)
    source.load()
    assert source.loaded and source.get("GEMINI_API_KEY") == GEMINI
    assert source.get("ADMIN_TOKEN") is None and source.get("MEDIA_SIGNING_SECRET") is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted((r.__dict__["secret"], r.__dict__["reason"]) for r in warnings) == [
        ("ADMIN_TOKEN", "permission denied" if least_privilege else "not found"),
        ("MEDIA_SIGNING_SECRET", "permission denied"),
    ]
    assert "media-secret-value-0003" not in all_log_text(caplog)


def test_a_required_secret_not_granted_fails_by_name(
    standin: SecretManagerStandIn, client: secretmanager.SecretManagerServiceClient
) -> None:
    standin.least_privilege = True
    standin.put(PROJECT, "ADMIN_TOKEN", ADMIN)
    source = SecretManagerSecrets(PROJECT, ["GEMINI_API_KEY"], client, optional=["ADMIN_TOKEN"])
    with pytest.raises(SecretError, match="GEMINI_API_KEY") as info:
        source.load()
    assert "roles/secretmanager.secretAccessor" in str(info.value)
    assert not source.loaded and source.get("ADMIN_TOKEN") is None


def test_emulator_secrets_are_never_read_in_production(
    standin: SecretManagerStandIn, client: secretmanager.SecretManagerServiceClient
) -> None:
    prod = FakeAuthSettings(
        environment="production",
        project_id=PROJECT,
        secrets_backend="secret-manager",
        live_backend="gemini",
    )
    # Production never talks to a stand-in, whatever the environment says.
    built = build_secret_source(prod, environ={EMULATOR_HOST_VARIABLE: standin.target})
    assert isinstance(built, SecretManagerSecrets)
    assert "EMULATOR_API_KEY" not in built.names + built.optional
    # The same lists, loaded from the stand-in, never ask for the emulator's key.
    for name, value in [("GEMINI_API_KEY", GEMINI), ("EMULATOR_API_KEY", "emulator-key-04")]:
        standin.put(PROJECT, name, value)
    source = SecretManagerSecrets(PROJECT, built.names, client, optional=built.optional)
    source.load()
    assert not any("EMULATOR_API_KEY" in name for _, name in standin.calls)
    # From the environment either.
    env = EnvSecrets(
        None, environ={"EMULATOR_API_KEY": "k", "GEMINI_API_KEY": GEMINI}, env_files=[]
    )
    assert sorted(resolve_secrets(prod, env)) == ["GEMINI_API_KEY"]
    assert sorted(resolve_secrets(FakeAuthSettings(live_backend="gemini"), env)) == [
        "EMULATOR_API_KEY",
        "GEMINI_API_KEY",
    ]


def test_corrupt_or_binary_values_are_refused_by_name(
    standin: SecretManagerStandIn, client: secretmanager.SecretManagerServiceClient
) -> None:
    standin.put(PROJECT, "GEMINI_API_KEY", GEMINI)
    standin.corrupt_checksums = True
    with pytest.raises(SecretError, match="GEMINI_API_KEY arrived corrupted"):
        SecretManagerSecrets(PROJECT, ["GEMINI_API_KEY"], client).load()
    standin.corrupt_checksums = False
    standin.secrets[f"projects/{PROJECT}/secrets/GEMINI_API_KEY"].versions.append(b"\xffkey")
    with pytest.raises(SecretError, match="GEMINI_API_KEY is not UTF-8") as info:
        SecretManagerSecrets(PROJECT, ["GEMINI_API_KEY"], client).load()
    assert "xff" not in str(info.value)


async def test_async_load_runs_off_the_loop(
    standin: SecretManagerStandIn, client: secretmanager.SecretManagerServiceClient
) -> None:
    standin.put(PROJECT, "GEMINI_API_KEY", GEMINI)
    source = SecretManagerSecrets(PROJECT, ["GEMINI_API_KEY"], client)
    await source.aload()
    assert source.get("GEMINI_API_KEY") == GEMINI


def test_build_source_uses_the_standin_outside_production(
    standin: SecretManagerStandIn,
) -> None:
    standin.put(PROJECT, "GEMINI_API_KEY", GEMINI)
    settings = FakeAuthSettings(
        project_id=PROJECT, secrets_backend="secret-manager", live_backend="gemini"
    )
    source = build_secret_source(settings, environ={EMULATOR_HOST_VARIABLE: standin.target})
    assert isinstance(source, SecretManagerSecrets)
    source.load()  # makes its own client for the stand-in and closes it afterwards
    secrets = resolve_secrets(settings, source)
    assert secrets == {"GEMINI_API_KEY": SecretStr(GEMINI)}
    assert source.names == ["GEMINI_API_KEY"]
    assert source.optional == ["ADMIN_TOKEN", "MEDIA_SIGNING_SECRET", "EMULATOR_API_KEY"]


def test_env_secrets_layers(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_TOKEN=from-env-file\nEMULATOR_API_KEY=file-key\n")
    (tmp_path / ".env.local").write_text("ADMIN_TOKEN=from-env-local\n")
    files = [tmp_path / ".env", tmp_path / ".env.local"]
    source = EnvSecrets(None, environ={}, env_files=files)
    assert source.get("ADMIN_TOKEN") == "from-env-local"  # .env.local wins over .env
    source = EnvSecrets(None, environ={"ADMIN_TOKEN": "from-environ"}, env_files=files)
    assert source.get("ADMIN_TOKEN") == "from-environ"
    assert source.get("EMULATOR_API_KEY") == "file-key"
    assert source.get("MISSING") is None


def test_env_secrets_read_settings_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI)
    source = EnvSecrets(Settings(), environ={}, env_files=[])
    assert source.get("GEMINI_API_KEY") == GEMINI


def test_resolve_requires_the_gemini_key_only_for_gemini() -> None:
    empty = EnvSecrets(None, environ={}, env_files=[])
    assert resolve_secrets(FakeAuthSettings(live_backend="emulator"), empty) == {}
    with pytest.raises(MissingSecretError, match="GEMINI_API_KEY"):
        resolve_secrets(FakeAuthSettings(live_backend="gemini"), empty)
    found = resolve_secrets(
        FakeAuthSettings(), EnvSecrets(None, environ={"ADMIN_TOKEN": ADMIN}, env_files=[])
    )
    assert found["ADMIN_TOKEN"].get_secret_value() == ADMIN
    assert ADMIN not in repr(found)


def test_load_settings_takes_the_key_from_secret_manager(
    standin: SecretManagerStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from liveavatar.settings import load_settings

    monkeypatch.chdir(tmp_path)
    standin.put("demo-proj", "GEMINI_API_KEY", "AIza-from-secret-manager")
    monkeypatch.setenv("SECRETS_BACKEND", "secret-manager")
    monkeypatch.setenv("PROJECT_ID", "demo-proj")
    monkeypatch.setenv("LIVE_BACKEND", "gemini")
    monkeypatch.setenv("SECRET_MANAGER_EMULATOR_HOST", standin.target)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    settings = load_settings()
    assert settings.gemini_api_key is not None
    assert settings.gemini_api_key.get_secret_value() == "AIza-from-secret-manager"


def test_load_settings_fails_naming_a_required_secret_not_granted(
    standin: SecretManagerStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from liveavatar.settings import load_settings

    monkeypatch.chdir(tmp_path)
    standin.least_privilege = True
    monkeypatch.setenv("SECRETS_BACKEND", "secret-manager")
    monkeypatch.setenv("PROJECT_ID", "demo-proj")
    monkeypatch.setenv("LIVE_BACKEND", "gemini")
    monkeypatch.setenv("SECRET_MANAGER_EMULATOR_HOST", standin.target)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    with pytest.raises(SecretError, match="GEMINI_API_KEY"):
        load_settings()
    standin.put("demo-proj", "GEMINI_API_KEY", "AIza-from-secret-manager")
    settings = load_settings()  # the optional ones are still absent: no error
    assert settings.admin_token is None and settings.media_signing_secret is None
