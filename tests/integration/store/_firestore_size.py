"""The storage size Firestore gives each document of a `/dump` of the test emulator.

The emulator accepts documents of any size; production rejects a write that takes a
document past `MAX_DOCUMENT_BYTES`. The rules are Firestore's published storage-size ones:
a string is its UTF-8 length + 1, numbers, timestamps and dates 8, booleans and nulls 1, an
array the sum of its elements, a map the sum of its keys (as strings) and values, a document
its name (each path segment as a string, + 16) + its fields + 32.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_DOCUMENT_BYTES = 1_048_576
_FIXED = {
    "integer_value": 8,
    "double_value": 8,
    "timestamp_value": 8,
    "boolean_value": 1,
    "null_value": 1,
    "geo_point_value": 16,
}


def _string(text: str) -> int:
    return len(text.encode()) + 1


def _name(path: str) -> int:
    segments = path.split("/documents/", 1)[1].split("/")
    return sum(_string(s) for s in segments) + 16


def _value(typed: dict[str, Any]) -> int:
    kind: str = typed["type"]
    value: Any = typed.get("value")
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "string_value":
        return _string(value)
    if kind == "bytes_value":
        return len(value)
    if kind == "reference_value":
        return _name(value)
    if kind == "array_value":
        return sum(_value(v) for v in value or ())
    if kind == "map_value":
        return _fields(value or {})
    raise ValueError(f"unknown value type {kind!r} in the emulator's dump")


def _fields(fields: dict[str, Any]) -> int:
    return sum(_string(k) + _value(v) for k, v in fields.items())


def document_sizes(dump: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """(path below `documents/`, storage size) of every document in the dump."""

    def walk(collections: dict[str, Any]) -> Iterator[tuple[str, int]]:
        for collection in collections.values():
            for doc in collection.get("documents", {}).values():
                if doc.get("fields") is not None:
                    path = doc["path"]
                    size = _name(path) + _fields(doc["fields"]) + 32
                    yield path.split("/documents/", 1)[1], size
                yield from walk(doc.get("collections") or {})

    for project in dump["projects"].values():
        for database in project["databases"].values():
            yield from walk(database["collections"])
