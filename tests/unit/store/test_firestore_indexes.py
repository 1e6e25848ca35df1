"""`deploy/firestore.indexes.json` holds a composite index for every Firestore query the
store makes on more than one field (production refuses such a query without one).

This list is the readable inventory; the check that cannot miss a query is the one every
Firestore store test runs under (`tests/integration/store/_firestore_indexes.py`), which
tests each query the store actually issues against the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INDEXES = Path(__file__).resolve().parents[3] / "deploy" / "firestore.indexes.json"
ASC, DESC = "ASCENDING", "DESCENDING"

# Every query the store makes: (collection, [(field, order), ...]) in the order Firestore
# needs them (equality filters first, then the range / order-by field). Keep it in step with
# firestore.py, _firestore_users.py, _firestore_daily.py, _firestore_admin.py,
# _firestore_costs.py and _firestore_av_offset.py.
QUERIES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "list_conversations, search_conversations of a user": (
        "conversations",
        [("userId", ASC), ("sortKey", DESC)],
    ),
    "list_conversations, search_conversations": ("conversations", [("sortKey", DESC)]),
    "delete_conversations_before": ("conversations", [("timestamp", ASC)]),
    "delete_user_data: the user's conversations": ("conversations", [("userId", ASC)]),
    "delete_user_data: the user's days": ("userDays", [("userId", ASC)]),
    "list_user_days": ("userDays", [("date", ASC)]),
    "list_user_days of a user": ("usage", [("date", ASC)]),
    "list_daily, get_daily": ("metrics", [("date", ASC)]),
    "list_daily, get_daily: counters": ("dailyCounters", [("date", ASC)]),
    "daily_latency": ("turnTimes", [("endedAt", ASC)]),
    "av_offset": ("turnTimes", [("endedAt", ASC)]),
    "delete_conversation: its turn times": ("turnTimes", [("conversationId", ASC)]),
    "get_turns": ("turns", [("index", ASC)]),
    "list_users, find_users": ("users", [("id", ASC)]),
    "list_persona_versions": ("versions", [("version", DESC)]),
}


def _load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(INDEXES.read_text())
    return data


def _composite(collection: str, fields: list[tuple[str, str]]) -> bool:
    for index in _load()["indexes"]:
        got = [(f["fieldPath"], f["order"]) for f in index["fields"]]
        if index["collectionGroup"] == collection and got == fields:
            return bool(index["queryScope"] == "COLLECTION")
    return False


def test_the_file_has_the_firebase_shape() -> None:
    data = _load()
    assert set(data) == {"indexes", "fieldOverrides"}
    for index in data["indexes"]:
        assert set(index) == {"collectionGroup", "queryScope", "fields"}
        assert len(index["fields"]) >= 2
        assert all(f["order"] in (ASC, DESC) for f in index["fields"])
    for override in data["fieldOverrides"]:
        assert {"collectionGroup", "fieldPath", "indexes"} <= set(override)


def test_every_query_on_several_fields_has_its_index() -> None:
    several = {name: q for name, q in QUERIES.items() if len(q[1]) > 1}
    assert several  # the per-user listing at least
    missing = [name for name, (coll, fields) in several.items() if not _composite(coll, fields)]
    assert missing == []


def test_the_existing_per_user_listing_index_is_kept() -> None:
    assert _composite("conversations", [("userId", ASC), ("sortKey", DESC)])


def test_transcripts_are_not_indexed() -> None:
    # Large text costs index writes and storage for nothing (no query filters on it; an
    # index keeps only its first 1,500 bytes anyway), and a long array of lines counts
    # against the per-document index entry limit. Earlier versions' transcripts are
    # in `conversations.messages`; a turn holds its texts and its grounding and tool lists.
    overrides = _load()["fieldOverrides"]
    unindexed = {(o["collectionGroup"], o["fieldPath"]) for o in overrides if o["indexes"] == []}
    assert ("conversations", "messages") in unindexed
    large = ("user_text", "model_text", "sources", "search_queries", "tool_calls")
    assert {("turns", field) for field in large} <= unindexed
