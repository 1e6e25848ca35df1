"""One typed Settings object, built once at each composition root."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from liveavatar.live.pricing import ModelPrices
from liveavatar.log import LogFormat

Environment = Literal["local", "development", "test", "staging", "production"]
LiveBackend = Literal["emulator", "gemini", "vertex"]

# Values people leave in copied example files; refusing them in production turns a silent
# misconfiguration into a clear start-up error.
_PLACEHOLDERS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "changethis",
        "placeholder",
        "your-api-key",
        "your_api_key",
        "your-project-id",
        "xxx",
        "todo",
        "secret",
        "fake",
        "test",
        "dummy",
    }
)


def is_placeholder(value: str | None) -> bool:
    """Whether a configured secret or id is missing or an obvious placeholder."""
    if value is None:
        return True
    v = value.strip().lower()
    return v in _PLACEHOLDERS or v.startswith(("<", "your-", "your_")) or set(v) <= {"x", "-"}


# Under Cloud Run's request timeout (3600 s, deploy/cloudrun/backend.yaml) by more than
# SOCKET_CLOSE_WAIT_S, so the backend's own close, at a turn boundary, always comes first.
PRODUCTION_SOCKET_MAX_AGE_S = 3540.0


class Settings(BaseSettings):
    """All configuration, read from the environment, then `.env.local`, then `.env`.

    The seed's variable names are honoured as written (`ENVIRONMENT`, `PROJECT_ID`,
    `VERTEX_LOCATION`, `MODEL`, `VOICE`, `BACKEND_URL`, `DASHBOARD_URL`,
    `GOOGLE_APPLICATION_CREDENTIALS`, `VERTEX_AI_ENDPOINT`). Build it once (`Settings()`)
    at a composition root and pass values into constructors.
    """

    model_config = SettingsConfigDict(
        env_file=(".env", ".env.local"),  # later files win: .env.local overrides .env
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    environment: Environment = "local"
    project_id: str | None = None
    vertex_location: str = "us-central1"
    model: str = "gemini-3.8-live"
    voice: str = "Puck"
    backend_url: str = "ws://localhost:8080"
    dashboard_url: str = "http://localhost:8501"
    google_application_credentials: Path | None = None
    vertex_ai_endpoint: str | None = Field(
        default=None, description="Base URL of a local Live endpoint, e.g. the emulator."
    )
    live_backend: LiveBackend = "emulator"
    live_client: Literal["raw", "picows", "sdk"] = "picows"
    # A Live connection that stops answering (live/guard.py): the bound on an answer to
    # what must be answered, and the keepalive ping interval and pong timeout.
    live_stall_timeout_s: float = Field(default=10.0, gt=0)
    # The bound on opening one Live connection: TCP, TLS, WebSocket and setupComplete.
    live_open_timeout_s: float = Field(default=5.0, gt=0)
    # US dollars per million tokens, per model and modality, laid over the documented
    # defaults (`live/pricing.py`); JSON, e.g. {"gemini-3.8-live": {"input_text": 0.5, …}}.
    live_prices: dict[str, ModelPrices] = Field(default_factory=dict)
    gemini_api_key: SecretStr | None = None
    live_ca_file: Path | None = Field(
        default=None, description="CA file to trust for the Live endpoint (the emulator's cert)."
    )
    data_dir: Path = Path(".data")

    # Backend (`liveavatar serve`).
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    allowed_origins: list[str] = [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
    ]
    knowledge_dir: Path = Path("knowledge")
    frontend_dir: Path = Path("frontend")
    frontend_port: int = Field(default=8000, ge=0, le=65535)
    max_sessions: int = Field(default=250, ge=1)
    tool_timeout_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=3.0, ge=0)
    # The backend closes a browser socket this old itself (close 4000: the page resumes at
    # once), before the platform cuts it at its request timeout; off locally, just under
    # Cloud Run's 3600 s in production. It waits up to SOCKET_CLOSE_WAIT_S for a turn to end.
    socket_max_age_s: float | None = Field(default=None, gt=0)
    socket_close_wait_s: float = Field(default=30.0, ge=0)
    hello_timeout_s: float = Field(default=10.0, gt=0)
    # Sockets that have not said hello yet: their own bound, and a shorter wait once more
    # than half of it is taken (see bridge/capacity.py).
    max_waiting_hello: int = Field(default=64, ge=1)
    hello_timeout_pressed_s: float = Field(default=2.0, gt=0)
    persona_cache_s: float = Field(default=5.0, ge=0)
    # How often the store is asked whether a user with a running session was blocked (one
    # read per such user per round; bridge/blocks.py).
    block_check_s: float = Field(default=5.0, gt=0)

    # Dashboard (`liveavatar dashboard`). On Cloud Run (K_SERVICE set) it binds 0.0.0.0:$PORT;
    # with no ADMIN_TOKEN and no IAP it binds 127.0.0.1 only, whatever is set here.
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(default=8501, ge=0, le=65535)
    # How old a page's figures may be: its queries are cached this long (0: never cached).
    dashboard_cache_s: float = Field(default=30.0, ge=0)
    # Where the Overview reads active sessions (the backend's /metrics); how long it waits.
    dashboard_metrics_timeout_s: float = Field(default=1.0, gt=0)

    # Store (`store/`): SQLite file under DATA_DIR by default, Firestore in production.
    store_backend: Literal["sqlite", "firestore"] = "sqlite"
    retention_days: int = Field(default=90, ge=1)
    firestore_project: str | None = None
    firestore_database: str = "(default)"

    # Media (`media/`): avatar clips in a local folder or a Cloud Storage bucket.
    media_backend: Literal["local", "gcs"] = "local"
    media_dir: Path = Path("media")
    media_bucket: str | None = None
    media_signing_secret: SecretStr | None = None
    media_url_ttl_s: int = Field(default=3600, ge=1, le=604_800)
    media_signer_email: str | None = None
    media_base_url: str | None = None
    media_iam_endpoint: str = "https://iamcredentials.googleapis.com"

    # Identity and limits (`auth/`).
    auth_enabled: bool = False
    # Firebase anonymous sign-ins (the embeddable widget's visitors, docs/EMBED.md). Off by
    # default: a guest account costs nothing to make, so its quotas bound one browser, not
    # one person; a site that embeds the widget turns it on knowingly (docs/SECURITY.md).
    auth_allow_anonymous: bool = False
    # How long a session may go on after its ID token expired with no fresh one sent over
    # the socket (the page sends one minutes before; docs/API.md): then 4401.
    auth_token_grace_s: float = Field(default=60.0, gt=0)
    firebase_project_id: str | None = None
    firebase_certs_url: str = (
        "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
    )
    # Either limit or both: minutes of talk, and the estimated cost in US dollars (at the
    # price table above), per user and UTC day. `off` (or empty) means no limit of that kind.
    quota_minutes_per_day: float | None = Field(default=30.0, ge=0)
    quota_cost_per_day: float | None = Field(default=None, ge=0)
    quota_warn_before_s: float = Field(default=30.0, ge=0)
    rate_limit_connections: int = Field(default=100, ge=1)
    rate_limit_window_s: float = Field(default=60.0, gt=0)
    max_sessions_per_user: int = Field(default=3, ge=1)
    iap_audience: str | None = None
    iap_certs_url: str = "https://www.gstatic.com/iap/verify/public_key-jwk"
    admin_token: SecretStr | None = None
    secrets_backend: Literal["env", "secret-manager"] = "env"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # `auto`: readable lines on a terminal, JSON elsewhere; production and staging always
    # log JSON (log.py `choose_format`).
    log_format: LogFormat = "auto"

    # The HTTP edge (`server/limits.py`, `server/security.py`): who may speak for the
    # client's address, how long a socket may take, how many may be open, which sites may
    # frame the page. See docs/API.md "Limits and timeouts".
    trusted_proxies: list[str] = Field(
        default=[],
        description="Peers whose X-Forwarded-For/-Proto are believed (IPs, CIDRs or '*'); "
        "empty: none, or with TRUSTED_PROXY_HOPS every peer.",
    )
    trusted_proxy_hops: int = Field(
        default_factory=lambda: 1 if os.environ.get("K_SERVICE") else 0,
        ge=0,
        le=10,
        description="How many proxies in front of the backend append to X-Forwarded-For: "
        "the client is the entry this many from the right (0: the TCP peer; Cloud Run: 1; "
        "an external HTTPS load balancer and Cloud Run: 2).",
    )
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    http_keep_alive_s: int = Field(default=5, ge=1)
    # Browser sockets: a keepalive ping every interval; no pong within the timeout closes
    # the socket (a vanished or frozen client), see docs/API.md "Limits and timeouts".
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0)
    max_connections: int = Field(default=1000, ge=1)
    frame_ancestors: list[str] = Field(
        default=["'self'"],
        description="CSP frame-ancestors of the page: 'self', 'none' or https origins.",
    )

    # Live emulator (`liveavatar emulator`); CLI flags override these.
    emulator_host: str = "127.0.0.1"
    emulator_port: int = Field(default=9000, ge=0, le=65535)
    emulator_cert_dir: Path = Path(".data/emulator")
    emulator_tls: bool = True
    emulator_api_key: SecretStr | None = None
    emulator_brain: Literal["script", "echo"] = "script"
    emulator_script: Path | None = None
    emulator_connection_lifetime_s: float = Field(default=600.0, gt=0)
    emulator_goaway_notice_s: float = Field(default=60.0, gt=0)
    emulator_text_frames: bool = False
    emulator_fault_close_after_s: float | None = Field(default=None, ge=0)
    emulator_fault_first_audio_delay_ms: int = Field(default=0, ge=0)
    emulator_fault_refuse_setup: Literal[1007, 1008] | None = None
    emulator_fault_stall_after_s: float | None = Field(default=None, ge=0)
    emulator_fault_refuse_avatar: Literal[1007, 1008] | None = None

    @property
    def emulator_url(self) -> str:
        """Where `liveavatar emulator` listens with these settings (its base URL)."""
        scheme = "https" if self.emulator_tls else "http"
        return f"{scheme}://{self.emulator_host}:{self.emulator_port}"

    @field_validator("quota_minutes_per_day", "quota_cost_per_day", mode="before")
    @classmethod
    def _no_limit(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "off", "none"):
            return None
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @model_validator(mode="after")
    def _production_socket_age(self) -> Settings:
        if self.is_production and self.socket_max_age_s is None:
            self.socket_max_age_s = PRODUCTION_SOCKET_MAX_AGE_S
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if not self.is_production:
            return self
        problems: list[str] = []
        if is_placeholder(self.project_id):
            problems.append("PROJECT_ID is missing or a placeholder")
        if self.live_backend == "emulator":
            problems.append("LIVE_BACKEND=emulator is for local runs; use gemini or vertex")
        key = self.gemini_api_key.get_secret_value() if self.gemini_api_key else None
        # With Secret Manager the key arrives after this first validation (see load_settings).
        awaiting_secret = self.secrets_backend == "secret-manager" and key is None
        if self.live_backend == "gemini" and not awaiting_secret and is_placeholder(key):
            problems.append("GEMINI_API_KEY is missing or a placeholder")
        if self.vertex_ai_endpoint and any(
            h in self.vertex_ai_endpoint for h in ("127.0.0.1", "localhost")
        ):
            problems.append("VERTEX_AI_ENDPOINT points at a local emulator")
        if self.media_backend == "gcs" and not self.media_bucket:
            problems.append("MEDIA_BACKEND=gcs needs MEDIA_BUCKET")
        for emulator in ("FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"):
            if os.environ.get(emulator):
                problems.append(f"{emulator} is set: it points a Google client at an emulator")
        from liveavatar.auth.config import production_auth_problems

        problems += production_auth_problems(self)
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


_LOCAL_ORIGIN_HOSTS = frozenset({"localhost", "0.0.0.0", "::1", "::"})  # noqa: S104


def _is_local_origin(origin: str) -> bool:
    host = (urlsplit(origin.strip()).hostname or "").lower()
    return host in _LOCAL_ORIGIN_HOSTS or host.endswith(".localhost") or host.startswith("127.")


def storage_problems(settings: Settings) -> list[str]:
    """What makes these settings' store and media unfit for production (empty elsewhere).

    Every command that reads or writes conversations refuses them: `serve`, `dashboard`
    and `purge`. A dashboard or a purge over one machine's SQLite file would show or
    delete another store than the one the backend writes to.
    """
    if not settings.is_production:
        return []
    problems: list[str] = []
    if settings.store_backend == "sqlite":
        problems.append(
            "STORE_BACKEND=sqlite keeps conversations on one instance's disk; use firestore"
        )
    if settings.media_backend == "local" and (
        settings.media_signing_secret is None
        or is_placeholder(settings.media_signing_secret.get_secret_value())
    ):
        problems.append(
            "MEDIA_BACKEND=local needs a shared MEDIA_SIGNING_SECRET (without it each instance "
            "signs media URLs with its own key); or use MEDIA_BACKEND=gcs"
        )
    return problems


def serving_problems(settings: Settings) -> list[str]:
    """What makes these settings unfit for the production backend (empty elsewhere).

    Checked when `liveavatar serve` starts, after secrets are loaded, and not in `Settings`
    itself: the tools read the same settings and need none of this.
    Each of these works on one machine and fails quietly once Cloud Run runs several
    instances, or once browsers come from the real site.
    """
    if not settings.is_production:
        return []
    problems = storage_problems(settings)
    if not any(not _is_local_origin(o) for o in settings.allowed_origins):
        problems.append(
            "ALLOWED_ORIGINS holds only localhost origins; name the site's https origin"
        )
    return problems


def check_serving(settings: Settings) -> None:
    """Raise ValueError naming every problem `serving_problems` finds."""
    _refuse(serving_problems(settings))


def check_storage(settings: Settings) -> None:
    """Raise ValueError naming every problem `storage_problems` finds."""
    _refuse(storage_problems(settings))


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ValueError("refusing to start in production: " + "; ".join(problems))


def describe_errors(exc: ValidationError) -> str:
    """Settings errors as plain lines, without the input values (which may be secrets)."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(p) for p in err["loc"]).upper()
        lines.append(f"- {where + ': ' if where else ''}{err['msg']}")
    return "\n".join(lines)


def load_settings() -> Settings:
    """Settings for an entry point, with secrets from Secret Manager when configured.

    Secret Manager is read once, here; the values only ever live in `SecretStr` fields.
    The settings are validated again with the secrets in place.
    """
    settings = Settings()
    if settings.secrets_backend != "secret-manager":
        return settings
    from liveavatar.secrets import build_secret_source, resolve_secrets

    source = build_secret_source(settings)
    load = getattr(source, "load", None)
    if load is not None:
        load()
    found = resolve_secrets(settings, source)
    values: dict[str, Any] = {name.lower(): value for name, value in found.items()}
    return Settings(**values)
