"""The avatar's clips: which media names the frontend plays in each state, as signed URLs.

The layout of a store (see `media/README.md` at the repository root) is one folder per
state: `idle/`, `talking/`, `expressive/`. A persona may name its own clips instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from .base import InvalidMediaName, MediaStore, validate_name

logger = logging.getLogger(__name__)

CATEGORIES: tuple[str, ...] = ("idle", "talking", "expressive")
MAX_CLIPS_PER_CATEGORY = 50
SIGN_TIMEOUT_S = 20.0


async def list_avatar_media(store: MediaStore) -> dict[str, list[str]]:
    """The video objects under each category folder of `store`, sorted by name."""

    async def videos(category: str) -> list[str]:
        objects = await store.list(f"{category}/", limit=MAX_CLIPS_PER_CATEGORY * 4)
        names = [o.name for o in objects if o.content_type.startswith("video/")]
        return names[:MAX_CLIPS_PER_CATEGORY]

    found = await asyncio.gather(*(videos(c) for c in CATEGORIES))
    return dict(zip(CATEGORIES, found, strict=True))


async def sign_avatar_media(
    store: MediaStore, media: Mapping[str, Sequence[str]], *, ttl_s: int | None = None
) -> dict[str, list[str]]:
    """Each category's names as signed GET URLs; every category key is present.

    Unknown categories and invalid names are dropped (logged), so one bad persona entry
    does not hide the rest of the avatar.
    """
    wanted: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    for category, names in media.items():
        if category not in wanted:
            logger.warning("unknown avatar media category", extra={"category": category[:40]})
            continue
        for name in list(names)[:MAX_CLIPS_PER_CATEGORY]:
            try:
                wanted[category].append(validate_name(name))
            except InvalidMediaName:
                logger.warning("invalid avatar media name", extra={"media_name": repr(name)[:80]})
    async with asyncio.timeout(SIGN_TIMEOUT_S):
        signed = await asyncio.gather(
            *(
                asyncio.gather(*(store.signed_url(n, ttl_s=ttl_s) for n in wanted[c]))
                for c in CATEGORIES
            )
        )
    return {c: list(urls) for c, urls in zip(CATEGORIES, signed, strict=True)}
