"""The Cloud Run service files: the values WebSockets need, and settings that would start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveavatar.settings import Settings
from tests.deploy.conftest import DEPLOY

SERVICES = {
    "backend": ("backend.yaml", "/readyz", "/healthz"),
    "dashboard": ("dashboard.yaml", "/_stcore/health", "/_stcore/health"),
}
FILLED = {
    "PROJECT_ID": "demo-avatar",
    "REGION": "europe-west4",
    "VERTEX_LOCATION": "europe-west4",
    "MEDIA_BUCKET": "demo-avatar-liveavatar-media",
    "BACKEND_IMAGE": "europe-west4-docker.pkg.dev/demo-avatar/liveavatar/backend:t1",
    "DASHBOARD_IMAGE": "europe-west4-docker.pkg.dev/demo-avatar/liveavatar/dashboard:t1",
    "BACKEND_URL": "wss://liveavatar-backend-1.europe-west4.run.app",
    "DASHBOARD_URL": "https://liveavatar-dashboard-1.europe-west4.run.app",
    "IAP_AUDIENCE": "/projects/1/locations/europe-west4/services/liveavatar-dashboard",
    "TRUSTED_PROXY_HOPS": "1",
}
# Variables that point a Google library at a local stand-in: never in a production file.
STAND_INS = {
    "FIRESTORE_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "SECRET_MANAGER_EMULATOR_HOST",
    "VERTEX_AI_ENDPOINT",
    "GEMINI_API_KEY",
    "ADMIN_TOKEN",
}


def load(name: str) -> dict[str, Any]:
    text = (DEPLOY / "cloudrun" / SERVICES[name][0]).read_text()
    for key, value in FILLED.items():
        text = text.replace("${" + key + "}", value)
    assert not re.search(r"\$\{[A-Z_]+\}", text), "a placeholder deploy.sh does not fill"
    service: dict[str, Any] = yaml.safe_load(text)
    return service


def container(service: dict[str, Any]) -> dict[str, Any]:
    containers = service["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    only: dict[str, Any] = containers[0]
    return only


def env_of(service: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(service)["env"]}


@pytest.mark.parametrize("name", SERVICES)
def test_the_values_a_websocket_service_needs(name: str) -> None:
    service = load(name)
    assert service["apiVersion"] == "serving.knative.dev/v1"
    assert service["kind"] == "Service"
    assert service["metadata"]["name"] == f"liveavatar-{name}"
    template = service["spec"]["template"]
    notes = template["metadata"]["annotations"]
    spec = template["spec"]
    assert spec["timeoutSeconds"] == 3600  # Cloud Run's maximum: a conversation is one request
    assert notes["run.googleapis.com/sessionAffinity"] == "true"
    assert notes["run.googleapis.com/cpu-throttling"] == "false"
    low = int(notes["autoscaling.knative.dev/minScale"])
    high = int(notes["autoscaling.knative.dev/maxScale"])
    assert 0 <= low <= high
    assert isinstance(spec["containerConcurrency"], int) and spec["containerConcurrency"] > 0
    assert spec["serviceAccountName"] == f"liveavatar-{name}@demo-avatar.iam.gserviceaccount.com"
    box = container(service)
    assert box["image"] == FILLED[f"{name.upper()}_IMAGE"]
    port = box["ports"][0]["containerPort"]
    _, startup, liveness = SERVICES[name]
    assert box["startupProbe"]["httpGet"] == {"path": startup, "port": port}
    assert box["livenessProbe"]["httpGet"] == {"path": liveness, "port": port}
    assert re.fullmatch(r"\d+(Mi|Gi)", box["resources"]["limits"]["memory"])
    assert float(box["resources"]["limits"]["cpu"]) >= 1


def test_the_backend_keeps_a_warm_instance_and_its_session_ceiling_matches_cloud_run() -> None:
    service = load("backend")
    template = service["spec"]["template"]
    assert int(template["metadata"]["annotations"]["autoscaling.knative.dev/minScale"]) >= 1
    assert int(env_of(service)["MAX_SESSIONS"]) == template["spec"]["containerConcurrency"]


def test_the_dashboard_is_behind_iap() -> None:
    service = load("dashboard")
    assert service["metadata"]["annotations"]["run.googleapis.com/iap-enabled"] == "true"
    assert env_of(service)["IAP_AUDIENCE"] == FILLED["IAP_AUDIENCE"]


@pytest.mark.parametrize("name", SERVICES)
def test_the_environment_names_real_settings_and_no_stand_in(name: str) -> None:
    env = env_of(load(name))
    assert not STAND_INS & set(env), "secrets come from Secret Manager, stand-ins never"
    fields = set(Settings.model_fields)
    assert {key.lower() for key in env} <= fields, {k for k in env if k.lower() not in fields}
    assert env["ENVIRONMENT"] == "production"
    assert env["STORE_BACKEND"] == "firestore" and env["MEDIA_BACKEND"] == "gcs"
    assert env["SECRETS_BACKEND"] == "secret-manager"


@pytest.mark.parametrize("name", SERVICES)
def test_the_settings_pass_the_production_checks(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for var in STAND_INS:
        monkeypatch.delenv(var, raising=False)
    for key, value in env_of(load(name)).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.is_production
    assert settings.allowed_origins == [
        "https://demo-avatar.web.app",
        "https://demo-avatar.firebaseapp.com",
    ]


def test_the_backend_closes_its_sockets_before_cloud_run_cuts_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    for var in STAND_INS:
        monkeypatch.delenv(var, raising=False)
    service = load("backend")
    for key, value in env_of(service).items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    timeout_s = service["spec"]["template"]["spec"]["timeoutSeconds"]
    assert settings.socket_max_age_s is not None
    # Its own close, after waiting for the turn to end, comes first, but not much earlier.
    closes_by = settings.socket_max_age_s + settings.socket_close_wait_s
    assert timeout_s - 120 <= closes_by < timeout_s
