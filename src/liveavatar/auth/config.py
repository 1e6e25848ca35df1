"""The settings auth reads, and the production refusals that keep auth from being off.

`FIREBASE_AUTH_EMULATOR_HOST` makes Firebase's admin SDK accept unsigned and expired tokens
(see docs/local-cloud-emulation.md, section 3), so its mere presence in production is refused,
as is running production with auth switched off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from pydantic import SecretStr

AUTH_EMULATOR_VARIABLE = "FIREBASE_AUTH_EMULATOR_HOST"
EMULATOR_VARIABLES = (AUTH_EMULATOR_VARIABLE, "SECRET_MANAGER_EMULATOR_HOST")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")


class AuthSettings(Protocol):
    """The fields of `liveavatar.settings.Settings` that auth reads."""

    @property
    def environment(self) -> str: ...
    @property
    def project_id(self) -> str | None: ...
    @property
    def auth_enabled(self) -> bool: ...
    @property
    def auth_allow_anonymous(self) -> bool: ...
    @property
    def firebase_project_id(self) -> str | None: ...
    @property
    def firebase_certs_url(self) -> str: ...
    @property
    def quota_minutes_per_day(self) -> float | None: ...
    @property
    def quota_cost_per_day(self) -> float | None: ...
    @property
    def quota_warn_before_s(self) -> float: ...
    @property
    def rate_limit_connections(self) -> int: ...
    @property
    def rate_limit_window_s(self) -> float: ...
    @property
    def max_sessions_per_user(self) -> int: ...
    @property
    def iap_audience(self) -> str | None: ...
    @property
    def iap_certs_url(self) -> str: ...
    @property
    def admin_token(self) -> SecretStr | None: ...


class ProductionAuthSettings(Protocol):
    """The subset `check_production_auth` needs."""

    @property
    def environment(self) -> str: ...
    @property
    def project_id(self) -> str | None: ...
    @property
    def auth_enabled(self) -> bool: ...
    @property
    def firebase_project_id(self) -> str | None: ...
    @property
    def firebase_certs_url(self) -> str: ...


def firebase_project(settings: ProductionAuthSettings) -> str | None:
    """The Firebase project whose tokens are accepted: its own setting, else `PROJECT_ID`."""
    return settings.firebase_project_id or settings.project_id


def production_auth_problems(
    settings: ProductionAuthSettings, environ: Mapping[str, str] | None = None
) -> list[str]:
    """What makes these settings unsafe for production (empty outside production)."""
    if settings.environment != "production":
        return []
    env = os.environ if environ is None else environ
    problems = []
    if not settings.auth_enabled:
        problems.append("AUTH_ENABLED must be true in production")
    if not firebase_project(settings):
        problems.append("FIREBASE_PROJECT_ID (or PROJECT_ID) is needed to verify ID tokens")
    url = settings.firebase_certs_url
    if not url.startswith("https://") or any(h in url for h in _LOCAL_HOSTS):
        problems.append("FIREBASE_CERTS_URL must be Google's https certs URL in production")
    for name in EMULATOR_VARIABLES:
        if env.get(name):
            problems.append(f"{name} is set: it turns verification off and is for tests only")
    return problems


def check_production_auth(
    settings: ProductionAuthSettings, environ: Mapping[str, str] | None = None
) -> None:
    """Raise ValueError naming every problem if production would run with auth unsafe."""
    problems = production_auth_problems(settings, environ)
    if problems:
        raise ValueError("refusing to start in production: " + "; ".join(problems))
