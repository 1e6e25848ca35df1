"""The API schema and ReDoc: published for local runs, absent from deployments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from liveavatar.server.app import create_app
from liveavatar.server.security import API_CSP, DOCS_CSP
from liveavatar.settings import Environment, Settings


@pytest.fixture(autouse=True)
def no_emulator_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST"):
        monkeypatch.delenv(name, raising=False)


def settings_for(environment: Environment, tmp_path: Path) -> Settings:
    values: dict[str, Any] = {"environment": environment, "data_dir": tmp_path}
    if environment == "production":
        values.update(project_id="acme-avatar-prod", live_backend="vertex", auth_enabled=True)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def get(settings: Settings, path: str) -> httpx.Response:
    # The routes exist from construction on; these two need nothing from the lifespan.
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://backend") as http:
        return await http.get(path)


# media_routes.py serves GET and HEAD from one function, which FastAPI's schema generator
# warns about (a duplicate operation id); the schema is still complete.
@pytest.mark.parametrize("environment", ["local", "development", "test"])
async def test_docs_are_served_for_local_runs(environment: Environment, tmp_path: Path) -> None:
    settings = settings_for(environment, tmp_path)
    schema = await get(settings, "/openapi.json")
    assert schema.status_code == 200
    assert "/healthz" in schema.json()["paths"]
    assert schema.headers["content-security-policy"] == API_CSP
    redoc = await get(settings, "/redoc")
    assert redoc.status_code == 200
    assert redoc.headers["content-security-policy"] == DOCS_CSP
    assert (await get(settings, "/docs")).status_code == 404  # Swagger UI stays off


@pytest.mark.parametrize("environment", ["staging", "production"])
async def test_deployments_publish_no_docs(environment: Environment, tmp_path: Path) -> None:
    settings = settings_for(environment, tmp_path)
    for path in ("/openapi.json", "/redoc", "/docs"):
        answer = await get(settings, path)
        assert answer.status_code == 404, path
        assert answer.headers["content-security-policy"] == API_CSP
