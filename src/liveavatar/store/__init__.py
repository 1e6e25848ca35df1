"""Persistence: one `Store` protocol, two backends chosen by settings.

`store_backend="sqlite"` (the embedded default) keeps everything in
`<data_dir>/liveavatar.db`; `store_backend="firestore"` uses Cloud Firestore (or its
emulator when `FIRESTORE_EMULATOR_HOST` is set). The Firestore module is imported only when
chosen, so the embedded default never loads the Google client.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from liveavatar.store.av_offset import AvOffset
from liveavatar.store.base import (
    UNSET,
    NotFound,
    Store,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from liveavatar.store.day_totals import DailyLatency, DailyMetrics, UserDay
from liveavatar.store.models import (
    Conversation,
    ConversationMetrics,
    ConversationSummary,
    Message,
    ResumeState,
    Source,
    TokenSums,
    ToolCallRecord,
    TurnRecord,
    User,
)
from liveavatar.store.persona_config import (
    AvatarMedia,
    PersonaConfig,
    SmartTurnSettings,
    VadSettings,
)
from liveavatar.store.retention import purge_expired, retention_cutoff
from liveavatar.store.sqlite import DB_FILENAME, SQLiteStore

if TYPE_CHECKING:
    from liveavatar.settings import Settings


def make_store(settings: Settings) -> Store:
    """The store the settings ask for (not yet connected: backends connect lazily)."""
    if settings.store_backend == "firestore":
        from liveavatar.store.firestore import FirestoreStore

        project = settings.firestore_project or settings.project_id
        return FirestoreStore(project=project, database=settings.firestore_database)
    return SQLiteStore(Path(settings.data_dir) / DB_FILENAME)


__all__ = [
    "DB_FILENAME",
    "UNSET",
    "AvOffset",
    "AvatarMedia",
    "Conversation",
    "ConversationMetrics",
    "ConversationSummary",
    "DailyLatency",
    "DailyMetrics",
    "Message",
    "NotFound",
    "PersonaConfig",
    "ResumeState",
    "SQLiteStore",
    "Source",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TokenSums",
    "ToolCallRecord",
    "TurnRecord",
    "User",
    "UserDay",
    "SmartTurnSettings",
    "VadSettings",
    "VersionConflict",
    "make_store",
    "purge_expired",
    "retention_cutoff",
]
