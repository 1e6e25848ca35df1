"""Tests for the built-in tools: the clock and the knowledge-base search."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from liveavatar.tools.builtin import current_time_tool, default_tools, knowledge_tool
from liveavatar.tools.registry import Tool, ToolRegistry

REPO_KNOWLEDGE = Path(__file__).resolve().parents[3] / "knowledge"
FIXED = datetime(2026, 11, 26, 15, 5, 9, tzinfo=UTC)


async def call(tool: Tool, args: dict[str, Any]) -> dict[str, Any]:
    result = await ToolRegistry([tool]).call(tool.name, args)
    return result.response


async def test_current_time_defaults_to_utc() -> None:
    response = await call(current_time_tool(lambda: FIXED), {})
    assert response == {
        "output": {
            "iso": "2026-11-26T15:05:09+00:00",
            "date": "Thursday, November 26, 2026",
            "time": "3:05 PM",
            "timezone": "UTC",
        }
    }


async def test_current_time_in_a_named_zone() -> None:
    response = await call(current_time_tool(lambda: FIXED), {"timezone": "Asia/Tokyo"})
    assert response["output"] == {
        "iso": "2026-11-27T00:05:09+09:00",
        "date": "Friday, November 27, 2026",
        "time": "12:05 AM",
        "timezone": "Asia/Tokyo",
    }


async def test_current_time_treats_naive_clock_as_utc() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    response = await call(current_time_tool(lambda: naive), {"timezone": "Europe/Paris"})
    assert response["output"]["time"] == "1:00 PM"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd"])
async def test_unknown_timezone_is_a_user_error(zone: str) -> None:
    response = await call(current_time_tool(lambda: FIXED), {"timezone": zone})
    assert response == {"error": f"unknown timezone: {zone}"}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    write(
        tmp_path,
        "pets.md",
        "# Pets\n\nAll about pets.\n\n## Cats\n\nCats purr and sleep most of the day.\n\n"
        "## Dogs\n\nDogs bark at the mail carrier and love long walks.\n",
    )
    write(
        tmp_path,
        "nested/food.md",
        "Intro text without a heading about cooking.\n\n# Bread\n\nBread needs flour, water, "
        "yeast and an oven.\n\n```\n# not a heading inside a fence\n```\n\n"
        "# Soup\n\nSoup is simmered for hours.\n",
    )
    return tmp_path


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("why does my dog bark", "pets.md#dogs"),
        ("do cats purr", "pets.md#cats"),
        ("what goes into bread with yeast", "nested/food.md#bread"),
        ("how long is soup simmered", "nested/food.md#soup"),
        ("cooking", "nested/food.md"),
    ],
)
async def test_knowledge_ranks_the_right_section_first(kb: Path, query: str, source: str) -> None:
    response = await call(knowledge_tool(kb), {"query": query})
    results = response["output"]["results"]
    assert results[0]["source"] == source


async def test_knowledge_result_shape_and_limit(kb: Path) -> None:
    response = await call(knowledge_tool(kb, max_results=1), {"query": "cats dogs pets"})
    [hit] = response["output"]["results"]
    assert set(hit) == {"source", "text"}
    assert "#" not in hit["text"].splitlines()[0]


async def test_fenced_code_is_not_a_heading(kb: Path) -> None:
    response = await call(knowledge_tool(kb), {"query": "fence"})
    assert response["output"]["results"][0]["source"] == "nested/food.md#bread"


async def test_section_text_is_capped(tmp_path: Path) -> None:
    write(tmp_path, "long.md", "# Long\n\n" + "word " * 1000)
    response = await call(knowledge_tool(tmp_path), {"query": "word"})
    text = response["output"]["results"][0]["text"]
    assert len(text) <= 600
    assert text.endswith("…")


@pytest.mark.parametrize("query", ["zebra", "the and of", ""])
async def test_knowledge_nothing_found(kb: Path, query: str) -> None:
    response = await call(knowledge_tool(kb), {"query": query})
    assert response == {"output": {"results": [], "note": "nothing found"}}


async def test_missing_folder_gives_empty_results(tmp_path: Path) -> None:
    response = await call(knowledge_tool(tmp_path / "absent"), {"query": "anything"})
    assert response == {"output": {"results": [], "note": "nothing found"}}


async def test_cache_is_rebuilt_only_when_a_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "facts.md", "# Colour\n\nThe sky is blue.\n")
    tool = knowledge_tool(tmp_path)
    assert (await call(tool, {"query": "blue"}))["output"]["results"]
    stat = path.stat()

    # Same size and mtime: the cached index answers, proving files are not re-read.
    path.write_text("# Colour\n\nThe sky is gray.\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (await call(tool, {"query": "blue"}))["output"]["results"]

    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert (await call(tool, {"query": "blue"}))["output"]["results"] == []
    assert (await call(tool, {"query": "gray"}))["output"]["results"][0]["source"] == (
        "facts.md#colour"
    )

    # A new file changes the set too.
    write(tmp_path, "more.md", "# Grass\n\nGrass is green.\n")
    assert (await call(tool, {"query": "green"}))["output"]["results"]


async def test_bad_files_are_skipped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "latin1.md").write_bytes("# Caf\xe9\n\nespresso".encode("latin-1"))
    (tmp_path / "huge.md").write_bytes(b"# Huge\n\n" + b"espresso " * 120_000)
    write(tmp_path, "good.md", "# Coffee\n\nespresso is strong.\n")
    tool = knowledge_tool(tmp_path)
    with caplog.at_level(logging.WARNING, logger="liveavatar.tools.builtin"):
        first = await call(tool, {"query": "espresso"})
        write(tmp_path, "other.md", "# Tea\n\nGreen tea.\n")  # forces a rebuild
        await call(tool, {"query": "espresso"})
    assert [r["source"] for r in first["output"]["results"]] == ["good.md#coffee"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("latin1.md" in m for m in messages) == 1
    assert sum("huge.md" in m for m in messages) == 1


def test_max_results_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        knowledge_tool(tmp_path, max_results=0)


@pytest.mark.parametrize(
    ("query", "source"),
    [
        ("which port does the dashboard use", "getting-started.md#services-and-ports"),
        ("does it run offline without Google", "product.md#local-mode"),
        ("what is Secret Manager used for", "product.md#production-on-google-cloud"),
        ("how do I run the tests", "getting-started.md#the-two-commands"),
    ],
)
async def test_repository_knowledge_answers_common_questions(query: str, source: str) -> None:
    response = await call(knowledge_tool(REPO_KNOWLEDGE), {"query": query})
    assert response["output"]["results"][0]["source"] == source


def test_default_tools() -> None:
    assert [t.name for t in default_tools(None)] == ["get_current_time"]
    names = [t.name for t in default_tools(REPO_KNOWLEDGE)]
    assert names == ["get_current_time", "lookup_knowledge"]
    assert ToolRegistry(default_tools(REPO_KNOWLEDGE)).names() == names
