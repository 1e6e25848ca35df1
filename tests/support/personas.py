"""The built-in persona as the store keeps it, with a test's changes, and saved in a
stack's SQLite store as the dashboard saves it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from liveavatar.live.persona import Persona
from liveavatar.store import DB_FILENAME, PersonaConfig, SQLiteStore


def builtin_persona(**overrides: Any) -> PersonaConfig:
    """The built-in persona (`Persona()`) as a stored persona, with `overrides` on top."""
    base = Persona()
    fields: dict[str, Any] = {
        "name": base.name,
        "model": base.model,
        "voice": base.voice,
        "system_instruction": base.system_instruction,
        "tools": list(base.tools),
    }
    return PersonaConfig(**{**fields, **overrides})


async def save_builtin_persona(data_dir: Path, **overrides: Any) -> PersonaConfig:
    """Save `builtin_persona(**overrides)` as the next version in `data_dir`'s store."""
    store = SQLiteStore(data_dir / DB_FILENAME)
    try:
        return await store.put_persona(builtin_persona(**overrides), expected_version=None)
    finally:
        await store.close()


def save_builtin_persona_blocking(data_dir: Path, **overrides: Any) -> PersonaConfig:
    """`save_builtin_persona` from synchronous test code."""
    # In a thread of its own: Playwright's sync API may already run a loop on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, save_builtin_persona(data_dir, **overrides)).result()
