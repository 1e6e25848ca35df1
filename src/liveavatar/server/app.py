"""The backend's FastAPI app factory and lifespan: settings in, clients built and injected."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from google import genai

from liveavatar.auth import StoreUsers, build_gatekeeper
from liveavatar.bridge.blocks import BlockWatch
from liveavatar.bridge.capacity import SocketCapacity
from liveavatar.bridge.day_counters import DayCounters
from liveavatar.bridge.deps import BridgeDeps
from liveavatar.bridge.handles import HandleDirectory
from liveavatar.live.health import LiveHealth
from liveavatar.live.openers import make_opener_for
from liveavatar.live.pricing import PriceTable
from liveavatar.live.sdk_client import build_client
from liveavatar.media import MediaStore, make_media_store
from liveavatar.media.avatar import list_avatar_media
from liveavatar.metrics import Metrics
from liveavatar.personas import PersonaSource
from liveavatar.settings import Settings
from liveavatar.store import Store, make_store
from liveavatar.tools import ToolRegistry, default_tools

from .http import router as http_router
from .media_routes import router as media_router
from .security import DOCS_CSP, SecurityHeaders, api_headers
from .ws import router as ws_router

logger = logging.getLogger(__name__)

REDOC_PATH = "/redoc"


@dataclass
class AppState:
    """Everything the routes need, built once per process in the lifespan."""

    settings: Settings
    live_client: genai.Client
    live_label: str
    tools: ToolRegistry
    metrics: Metrics
    store: Store
    media: MediaStore
    personas: PersonaSource
    deps: BridgeDeps
    capacity: SocketCapacity
    sessions: set[asyncio.Task[None]] = field(default_factory=set)


def create_app(settings: Settings) -> FastAPI:
    """The backend app. Clients are created in the lifespan, never at import time."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client, label = build_client(settings)
        tools = ToolRegistry(default_tools(settings.knowledge_dir))
        metrics = Metrics()
        live_health = LiveHealth(on_stall=lambda stage: metrics.live_stalls.labels(stage).inc())
        store = make_store(settings)
        media = await asyncio.to_thread(make_media_store, settings)
        personas = PersonaSource(store, settings, cache_s=settings.persona_cache_s)
        gate = build_gatekeeper(settings, users=StoreUsers(store), usage=store, spend=store)
        counters = DayCounters(store)
        deps = BridgeDeps(
            opener_for=make_opener_for(settings, client, tools, live_health),
            personas=personas.current,
            gate=gate,
            store=store,
            media=media,
            tools=tools,
            metrics=metrics,
            handles=HandleDirectory(store),
            shutting_down=asyncio.Event(),
            hello_timeout_s=settings.hello_timeout_s,
            prices=PriceTable(settings.live_prices),
            count=counters.count,
            socket_max_age_s=settings.socket_max_age_s,
            socket_close_wait_s=settings.socket_close_wait_s,
            token_grace_s=settings.auth_token_grace_s,
            native_avatar=settings.live_backend != "gemini",  # §14.1: Vertex (and the emulator)
        )
        capacity = SocketCapacity(
            max_waiting=settings.max_waiting_hello,
            hello_timeout_s=settings.hello_timeout_s,
            pressed_hello_timeout_s=settings.hello_timeout_pressed_s,
        )
        app.state.live = AppState(
            settings, client, label, tools, metrics, store, media, personas, deps, capacity
        )
        app.state.media = media
        app.state.live_health = live_health

        async def avatar_media() -> dict[str, list[str]]:
            active = await personas.current()
            return active.avatar_media or await list_avatar_media(media)

        app.state.avatar_media = avatar_media
        logger.info(
            "backend ready",
            extra={
                "live_backend": label,
                "store": settings.store_backend,
                "media": settings.media_backend,
                "auth": settings.auth_enabled,
            },
        )
        blocks = BlockWatch(store, deps.running, interval_s=settings.block_check_s)
        watch = asyncio.create_task(blocks.run(), name="blocked-users")
        counters.start()
        try:
            yield
        finally:
            await drain_sessions(app)
            watch.cancel()
            await asyncio.wait([watch], timeout=5)
            await counters.close()  # after the sessions: their last errors count too
            await store.close()

    # The schema and ReDoc are for developers: published locally, never on a deployment.
    docs = settings.environment not in ("production", "staging")
    app = FastAPI(
        title="Gemini Live Avatar backend",
        lifespan=lifespan,
        docs_url=None,
        openapi_url="/openapi.json" if docs else None,
        redoc_url=REDOC_PATH if docs else None,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["GET"],
        allow_headers=["authorization", "content-type"],
    )
    # Added last, so outermost: CORS answers and 404/405 pages get the headers too.
    app.add_middleware(
        SecurityHeaders,
        headers=api_headers(settings),
        by_path={REDOC_PATH: api_headers(settings, DOCS_CSP)} if docs else None,
    )
    app.include_router(http_router)
    app.include_router(ws_router)
    app.include_router(media_router)
    return app


async def drain_sessions(app: FastAPI) -> None:
    """Tell every connected browser `going_away` and wait (bounded) for sessions to end.

    Called when the server stops accepting connections (SIGTERM on Cloud Run, which allows
    about 10 s before it kills the instance).
    """
    state: AppState | None = getattr(app.state, "live", None)
    if state is None or state.deps.shutting_down.is_set():
        return
    state.deps.shutting_down.set()
    sessions = list(state.sessions)
    if sessions:
        logger.info("draining sessions", extra={"sessions": len(sessions)})
        await asyncio.wait(sessions, timeout=state.settings.shutdown_grace_s)
