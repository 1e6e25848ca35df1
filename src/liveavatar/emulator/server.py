"""The emulator's WebSocket server: TLS, routing, authentication and connection handling."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from liveavatar.log import session_id_var

from . import outbound
from .brain import Brain
from .config import EmulatorConfig
from .echo import serve_echo
from .errors import INTERNAL, INVALID_ARGUMENT, REASON_INTERNAL, TOO_BIG, LiveCloseError
from .resumption import ResumptionStore
from .routing import Route, extract_credential, match_route
from .script import Script, load_script
from .session import LiveSession, PeerClosed, SessionDeps
from .stt import RecognizerPool
from .tls import CERT_NAME, server_context
from .tts import Synthesizer
from .wire import Setup, parse_client_message

logger = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 5.0


class EmulatorServer:
    """A Live API emulator listening on one port; use as an async context manager.

    Port 0 binds a free port; `port` and `url` tell which after `start()`.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        script: Script | None = None,
        recognizers: RecognizerPool | None = None,
    ) -> None:
        """`recognizers` may be shared between servers; then the caller closes it."""
        self.config = config
        self._script = script or load_script(config.script_path)
        self._server: Server | None = None
        self._routes: dict[object, Route] = {}
        self._owns_recognizers = recognizers is None
        self._recognizers = recognizers or RecognizerPool()
        self._warmup: asyncio.Task[None] | None = None
        self._deps = SessionDeps(
            config=config,
            brain=Brain(self._script),
            resumption=ResumptionStore(ttl_s=config.resumption_ttl_s),
            recognizers=self._recognizers,
            synth=Synthesizer(),
        )
        self.port = config.port

    @property
    def url(self) -> str:
        """Base URL for clients (`https://` for TLS so the SDK rewrites it to `wss://`)."""
        scheme = "https" if self.config.tls else "http"
        return f"{scheme}://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.config.tls else 'ws'}://{self.config.host}:{self.port}"

    @property
    def cert_path(self) -> str | None:
        return str(self.config.cert_dir / CERT_NAME) if self.config.tls else None

    async def start(self) -> None:
        ssl_ctx = server_context(self.config.cert_dir) if self.config.tls else None
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            ssl=ssl_ctx,
            process_request=self._process_request,
            compression=None,
            max_size=self.config.max_message_bytes,
            max_queue=64,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=CLOSE_TIMEOUT_S,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if self.config.brain == "script":
            self._warmup = asyncio.create_task(
                asyncio.to_thread(self._recognizers.warm_up), name="emulator-stt-warmup"
            )
        logger.info(
            "live emulator listening",
            extra={"url": self.ws_url, "cert": self.cert_path, "brain": self.config.brain},
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S + 1):
                    await self._server.wait_closed()
            except TimeoutError:
                logger.warning("connections did not close in time")
        if self._warmup is not None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_S):
                    await self._warmup
            except TimeoutError:
                logger.warning("speech model warm-up still running at shutdown")
        if self._owns_recognizers:
            await asyncio.to_thread(self._recognizers.close)

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- handshake -------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] in ("/healthz", "/readyz"):
            return connection.respond(HTTPStatus.OK, "ok\n")
        route = match_route(request.path)
        if route is None:
            logger.info("refused handshake: unknown path", extra={"path": request.path[:200]})
            return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        if self.config.api_key is not None:
            headers = {k.lower(): v for k, v in request.headers.raw_items()}
            credential = extract_credential(request.path, headers)
            if credential is None:
                logger.info("refused handshake: no credential")
                return connection.respond(HTTPStatus.UNAUTHORIZED, "Missing credentials\n")
            if credential.removeprefix("auth_tokens/") != self.config.api_key:
                logger.info("refused handshake: wrong credential")
                return connection.respond(HTTPStatus.FORBIDDEN, "API key not valid\n")
        self._routes[connection] = route
        return None

    # ---- connections -----------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        route = self._routes.pop(ws)
        session = LiveSession(ws, route, self._deps)
        token = session_id_var.set(session.id)
        try:
            await self._run(ws, session)
        finally:
            session_id_var.reset(token)

    async def _run(self, ws: ServerConnection, session: LiveSession) -> None:
        try:
            if self.config.brain == "echo":
                await self._echo(ws, session)
            else:
                await session.run()
        except (Exception, ExceptionGroup) as exc:
            await self._close_for(ws, exc)

    async def _echo(self, ws: ServerConnection, session: LiveSession) -> None:
        kind, body = parse_client_message(await ws.recv())
        if kind != "setup" or not isinstance(body, Setup):
            raise LiveCloseError(INVALID_ARGUMENT, "The first message must be setup.")
        await session.send(outbound.setup_complete(session.id))
        await serve_echo(ws, text_frames=self.config.text_frames)

    async def _close_for(self, ws: ServerConnection, exc: BaseException) -> None:
        errors = list(_leaves(exc))
        close = next((e for e in errors if isinstance(e, LiveCloseError)), None)
        if close is None:
            peer = next((e for e in errors if isinstance(e, ConnectionClosed)), None)
            if peer is not None and peer.sent is not None and peer.sent.code == TOO_BIG:
                logger.warning("closed: client message too big", extra={"close_code": TOO_BIG})
            if peer is not None or all(isinstance(e, PeerClosed) for e in errors):
                return
            logger.error("emulator session failed", exc_info=errors[0])
            close = LiveCloseError(INTERNAL, REASON_INTERNAL)
        elif close.code >= 1007:
            logger.warning(
                "closing connection",
                extra={"close_code": close.code, "close_reason": close.reason},
            )
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await ws.close(close.code, close.reason)
        except TimeoutError:
            logger.warning("close handshake timed out")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]
