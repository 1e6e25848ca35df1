"""Plain HTTP endpoints: liveness, readiness, Prometheus metrics, the frontend's config."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from liveavatar import protocol as p

from .metrics import CONTENT_TYPE

router = APIRouter()
READY_CACHE_S = 5.0
PROBE_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the Live endpoint accepts connections (store checks join with the store)."""
    state = request.app.state.live
    cache: dict[str, Any] = request.app.state.__dict__.setdefault("ready_cache", {})
    now = time.monotonic()
    if cache.get("until", 0.0) < now:
        cache["live"] = await _probe_live(state.settings)
        cache["until"] = now + READY_CACHE_S
    live_ok: bool = cache["live"]
    store_ok = await _probe_store(state.store)
    ok = live_ok and store_ok and not state.deps.shutting_down.is_set()
    body = {
        "status": "ready" if ok else "unavailable",
        "live": "reachable" if live_ok else "unreachable",
        "store": "reachable" if store_ok else "unreachable",
        "shutting_down": state.deps.shutting_down.is_set(),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


async def _probe_live(settings: Any) -> bool:
    """A TCP connect to the Live endpoint: cheap, and opens no billable Live session."""
    endpoint = settings.vertex_ai_endpoint
    if endpoint is None and settings.live_backend == "emulator":
        endpoint = "https://127.0.0.1:9000"
    if endpoint is None:
        host = (
            f"{settings.vertex_location}-aiplatform.googleapis.com"
            if settings.live_backend == "vertex"
            else "generativelanguage.googleapis.com"
        )
        endpoint = f"https://{host}"
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            _, writer = await asyncio.open_connection(parts.hostname, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


async def _probe_store(store: Any) -> bool:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            await store.ping()
    except Exception:
        return False
    return True


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(request.app.state.live.metrics.render(), media_type=CONTENT_TYPE)


@router.get("/api/config")
async def public_config(request: Request) -> dict[str, Any]:
    """What the frontend may know: never secrets."""
    state = request.app.state.live
    s = state.settings
    persona = (await state.personas.current()).persona
    return {
        "protocol_version": p.PROTOCOL_VERSION,
        "environment": s.environment,
        "backend_url": s.backend_url,
        "dashboard_url": s.dashboard_url,
        "input_sample_rate": p.INPUT_SAMPLE_RATE,
        "output_sample_rate": p.OUTPUT_SAMPLE_RATE,
        "persona": persona.name,
        "voice": persona.voice,
        "auth": {"enabled": s.auth_enabled},
        "limits": p.Limits().model_dump(),
    }
