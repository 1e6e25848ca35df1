"""Identity and limits: Firebase ID tokens, the dashboard's IAP guard, rate limits, quotas.

- `tokens`: `FirebaseVerifier` (production) and `AnonymousVerifier` (local, auth off).
- `iap`: `dashboard_guard(settings)`: IAP JWT in production, an admin token by default.
- `ratelimit`: per-address connection rate limit and per-user concurrent-session cap.
- `quota`: daily minutes per user, checked at `hello` and charged during a session.
- `spend`: the estimated cost of each user's turns per day, and the cost quota (the same
  checks, charged per turn).
- `gate`: `Gatekeeper`, which applies all of the above in order for one session.
- `config`: the settings auth reads and `check_production_auth`.
"""

from __future__ import annotations

from .config import (
    AuthSettings,
    check_production_auth,
    firebase_project,
    production_auth_problems,
)
from .gate import (
    Admission,
    Gatekeeper,
    StoreUsers,
    UserDirectory,
    UserRecords,
    build_gatekeeper,
    build_verifier,
)
from .iap import (
    IAP_CERTS_URL,
    AdminIdentity,
    AdminTokenGuard,
    DashboardGuard,
    IapVerifier,
    dashboard_guard,
    generate_admin_token,
)
from .keys import KeyFetchError, PublicKeyCache
from .quota import (
    QuotaMeter,
    QuotaNearlyExhausted,
    QuotaPolicy,
    QuotaStatus,
    QuotaTick,
    SessionQuota,
    UsageStore,
)
from .ratelimit import (
    ConnectionRateLimited,
    ConnectionRateLimiter,
    SessionCap,
    SessionSlot,
    TooManySessions,
)
from .spend import SessionSpend, SpendMeter, SpendStatus, SpendStore
from .tokens import (
    FIREBASE_CERTS_URL,
    AnonymousVerifier,
    FirebaseVerifier,
    Identity,
    TokenVerifier,
    VerifierUnavailable,
)

__all__ = [
    "FIREBASE_CERTS_URL",
    "IAP_CERTS_URL",
    "AdminIdentity",
    "AdminTokenGuard",
    "Admission",
    "AnonymousVerifier",
    "AuthSettings",
    "ConnectionRateLimited",
    "ConnectionRateLimiter",
    "DashboardGuard",
    "FirebaseVerifier",
    "Gatekeeper",
    "IapVerifier",
    "Identity",
    "KeyFetchError",
    "PublicKeyCache",
    "QuotaMeter",
    "QuotaNearlyExhausted",
    "QuotaPolicy",
    "QuotaStatus",
    "QuotaTick",
    "SessionCap",
    "SessionQuota",
    "SessionSlot",
    "SessionSpend",
    "SpendMeter",
    "SpendStatus",
    "SpendStore",
    "StoreUsers",
    "TokenVerifier",
    "TooManySessions",
    "UsageStore",
    "UserDirectory",
    "UserRecords",
    "VerifierUnavailable",
    "build_gatekeeper",
    "build_verifier",
    "check_production_auth",
    "dashboard_guard",
    "firebase_project",
    "generate_admin_token",
    "production_auth_problems",
]
