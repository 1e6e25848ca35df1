"""The composite-index rule the Firestore tests enforce (`_firestore_indexes`), on queries
built by the real client (building one needs no server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud.firestore import AsyncClient, FieldFilter, Query

from tests.integration.store._firestore_indexes import (
    ASC,
    DESC,
    has_index,
    load_indexes,
    shape,
)


@pytest.fixture
def db() -> Iterator[AsyncClient]:
    yield AsyncClient(project="demo-test", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]


def _eq(field: str, value: Any) -> FieldFilter:
    return FieldFilter(field, "==", value)


def test_single_field_queries_and_equalities_alone_need_no_composite(db: AsyncClient) -> None:
    convs = db.collection("conversations")
    for query in (
        convs.where(filter=FieldFilter("sortKey", "<", "k")).order_by("sortKey"),
        convs.order_by("sortKey", direction=Query.DESCENDING).limit(5),
        convs.where(filter=_eq("userId", "u")).where(filter=_eq("id", "c")),
        db.collection("metrics")
        .where(filter=FieldFilter("date", ">=", "a"))
        .where(filter=FieldFilter("date", "<=", "b")),
    ):
        assert shape(query).needed() is None and has_index([], shape(query))


def test_an_equality_with_an_order_on_another_field_needs_that_index(db: AsyncClient) -> None:
    query = (
        db.collection("conversations")
        .where(filter=_eq("userId", "u"))
        .where(filter=FieldFilter("sortKey", "<", "k"))
        .order_by("sortKey", direction=Query.DESCENDING)
    )
    assert shape(query).needed() == (frozenset({"userId"}), (("sortKey", DESC),))
    assert not has_index([], shape(query))
    assert has_index(load_indexes(), shape(query))  # the deploy file has it
    wrong_way = {
        "collectionGroup": "conversations",
        "queryScope": "COLLECTION",
        "fields": [
            {"fieldPath": "userId", "order": ASC},
            {"fieldPath": "sortKey", "order": ASC},
        ],
    }
    assert not has_index([wrong_way], shape(query))


def test_a_range_on_one_field_and_an_order_on_another_needs_both(db: AsyncClient) -> None:
    query = (
        db.collection("turnTimes")
        .where(filter=FieldFilter("endedAt", ">=", 1))
        .order_by("latencyMs", direction=Query.DESCENDING)
    )
    assert shape(query).needed() == (frozenset(), (("latencyMs", DESC), ("endedAt", ASC)))
    assert not has_index(load_indexes(), shape(query))


def test_a_subcollection_query_is_checked_under_its_own_collection_id(db: AsyncClient) -> None:
    turns = db.collection("conversations").document("c").collection("turns")
    query = turns.where(filter=_eq("role", "user")).order_by("index")
    assert shape(query).collection == "turns" and shape(query).scope == "COLLECTION"
    assert shape(query).describe() == "turns (COLLECTION): role ASCENDING, index ASCENDING"
