"""Plain HTTP endpoints: liveness, readiness, Prometheus metrics, the frontend's config."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from liveavatar import protocol as p
from liveavatar.live.health import LiveHealth, LiveState
from liveavatar.live.probe import PROBE_TIMEOUT_S, probe_live
from liveavatar.metrics import CONTENT_TYPE

router = APIRouter()
READY_CACHE_S = 5.0
# The page's persona settings change when an admin saves the persona; browsers and CDNs
# may keep them as long as the backend itself caches the persona.
PAGE_CONFIG_MAX_AGE_S = 5


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: the Live endpoint's server answers (probed at most every READY_CACHE_S)
    and no Live connection of this process stalled lately; the store answers; the server
    is not shutting down. `live` is `reachable`, `unreachable` or `stalled`."""
    state = request.app.state.live
    cache: dict[str, Any] = request.app.state.__dict__.setdefault("ready_cache", {})
    now = time.monotonic()
    if cache.get("until", 0.0) < now:
        cache["live"] = await probe_live(state.settings)
        cache["until"] = now + READY_CACHE_S
    live: LiveState = cache["live"]
    health: LiveHealth = request.app.state.live_health
    if live == "reachable" and health.is_stalled:
        live = "stalled"  # the front end answers, but a session behind it stopped answering
    store_ok = await _probe_store(state.store)
    ok = live == "reachable" and store_ok and not state.deps.shutting_down.is_set()
    body = {
        "status": "ready" if ok else "unavailable",
        "live": live,
        "store": "reachable" if store_ok else "unreachable",
        "shutting_down": state.deps.shutting_down.is_set(),
    }
    return JSONResponse(body, status_code=200 if ok else 503)


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


@router.get("/api/page-config")
async def page_config(request: Request) -> JSONResponse:
    """The active persona's settings the page acts on before the microphone opens: the
    recording notice, the starting talk mode, the avatar; and whether a visitor without an
    account may talk (auth off, or Firebase anonymous sign-ins accepted), which the widget
    checks before signing its visitor in. The same for everyone: no secrets, nothing per
    user."""
    state = request.app.state.live
    active = await state.personas.current()
    s = state.settings
    body = {
        "recording": active.recording,
        "push_to_talk": active.push_to_talk,
        "avatar_mode": active.avatar_mode,
        "dashboard_url": s.dashboard_url,
        "guests_allowed": not s.auth_enabled or s.auth_allow_anonymous,
    }
    headers = {"Cache-Control": f"public, max-age={PAGE_CONFIG_MAX_AGE_S}"}
    return JSONResponse(body, headers=headers)
