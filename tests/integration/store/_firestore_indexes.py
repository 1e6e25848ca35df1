"""Production's composite-index rule, enforced on the test client.

Production Firestore refuses a query that needs a composite index the database lacks
(FAILED_PRECONDITION, "The query requires an index"); the emulator runs any query. So the
Firestore store's tests wrap the client's query execution (`AsyncQuery.stream`, which
`get()` and collection streams go through): each query the store actually issues is
checked against `deploy/firestore.indexes.json` and, lacking its index, fails as production
would, and is recorded, so a test fails even where the store turns the error into another.

Which queries single-field indexes serve (Firestore's documented rules): equalities alone
(merged), or a range and an order on one field. Anything else (equalities plus an order or
a range on another field, several order or range fields) needs a composite index of the
equality fields, then the order fields in order and direction (a range field not in
`order_by` is ordered ascending after the explicit ones).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions as gexc
from google.cloud.firestore_v1.async_query import AsyncQuery
from google.cloud.firestore_v1.types import StructuredQuery

INDEXES_FILE = Path(__file__).resolve().parents[3] / "deploy" / "firestore.indexes.json"
ASC, DESC = "ASCENDING", "DESCENDING"

_Op = StructuredQuery.FieldFilter.Operator
_Dir = StructuredQuery.Direction
_EQUALITY = {_Op.EQUAL, _Op.IN, _Op.ARRAY_CONTAINS, _Op.ARRAY_CONTAINS_ANY}


@dataclass(frozen=True)
class QueryShape:
    """What decides a query's index: where it runs, which fields it filters and orders."""

    collection: str
    scope: str  # "COLLECTION" or "COLLECTION_GROUP", as in the indexes file
    equalities: frozenset[str]
    ranges: frozenset[str]
    orders: tuple[tuple[str, str], ...]

    def needed(self) -> tuple[frozenset[str], tuple[tuple[str, str], ...]] | None:
        """The composite index (equality fields, ordered fields) it needs, or None."""
        orders = list(self.orders)
        named = {field for field, _ in orders}
        orders += [(field, ASC) for field in sorted(self.ranges - named)]
        ordered = {field for field, _ in orders}
        if not orders or len(self.equalities | ordered) == 1:
            return None
        return self.equalities - ordered, tuple(orders)

    def describe(self) -> str:
        need = self.needed()
        if need is None:
            return f"{self.collection}: no composite index needed"
        equal, orders = need
        fields = [f"{f} {ASC}" for f in sorted(equal)] + [f"{f} {d}" for f, d in orders]
        return f"{self.collection} ({self.scope}): {', '.join(fields)}"


def _filters(where: StructuredQuery.Filter) -> Iterator[tuple[str, bool]]:
    """(field, is an equality) of every filter in `where`."""
    if "composite_filter" in where:
        for inner in where.composite_filter.filters:
            yield from _filters(inner)
    elif "field_filter" in where:
        f = where.field_filter
        yield f.field.field_path, f.op in _EQUALITY
    elif "unary_filter" in where:
        yield where.unary_filter.field.field_path, True


def shape(query: AsyncQuery) -> QueryShape:
    pb = query._to_protobuf()
    (source,) = pb.from_
    filters = list(_filters(pb.where)) if "where" in pb else []
    direction = {_Dir.ASCENDING: ASC, _Dir.DESCENDING: DESC}
    return QueryShape(
        collection=source.collection_id,
        scope="COLLECTION_GROUP" if source.all_descendants else "COLLECTION",
        equalities=frozenset(f for f, equal in filters if equal),
        ranges=frozenset(f for f, equal in filters if not equal),
        orders=tuple((o.field.field_path, direction[o.direction]) for o in pb.order_by),
    )


def load_indexes(path: Path = INDEXES_FILE) -> list[dict[str, Any]]:
    indexes: list[dict[str, Any]] = json.loads(path.read_text())["indexes"]
    return indexes


def has_index(indexes: list[dict[str, Any]], query: QueryShape) -> bool:
    need = query.needed()
    if need is None:
        return True
    equal, orders = need
    for index in indexes:
        if (index["collectionGroup"], index["queryScope"]) != (query.collection, query.scope):
            continue
        fields = [(f["fieldPath"], f["order"]) for f in index["fields"]]
        if fields and fields[-1][0] == "__name__":
            fields.pop()  # the implicit tie-break, which any index may name
        head, tail = fields[: len(equal)], fields[len(equal) :]
        if {f for f, _ in head} == equal and tuple(tail) == orders:
            return True
    return False


def enforce_indexes(
    monkeypatch: pytest.MonkeyPatch, indexes: list[dict[str, Any]] | None = None
) -> list[str]:
    """Make every query of this test need its index in `indexes` (the file's by default);
    the list the queries that lacked one are added to."""
    known = load_indexes() if indexes is None else indexes
    missing: list[str] = []
    original = AsyncQuery.stream

    def stream(self: AsyncQuery, *args: Any, **kwargs: Any) -> Any:
        query = shape(self)
        if not has_index(known, query):
            missing.append(query.describe())
            text = f"The query requires an index: {query.describe()}"
            raise gexc.FailedPrecondition(text)  # type: ignore[no-untyped-call]
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AsyncQuery, "stream", stream)
    return missing
