"""The Conversations page's filter, and reading every conversation it selects.

A filter is what the admin typed: a user id, an inclusive range of UTC days, a text. It
maps onto `Store.search_conversations`, whose range is half-open, and is paged through
with the store's own cursor so an export holds exactly the filtered conversations.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from liveavatar.store.base import Store
from liveavatar.store.models import ConversationSummary

from .exports import ExportedConversation

MAX_TEXT_CHARS = 200  # the store's bound on a transcript search
PAGE_SIZE = 50
# An export reads every conversation it holds and their turns into memory.
MAX_EXPORT = 2000
_TURN_READS = 8


class TooManyConversations(ValueError):
    """The filter selects more conversations than one export may hold."""


@dataclass(frozen=True)
class SearchFilter:
    """What to look for; a field left None does not filter."""

    user_id: str | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    text: str | None = None

    @classmethod
    def from_form(
        cls,
        user_id: str,
        days: Sequence[dt.date] | dt.date | None,
        text: str,
    ) -> SearchFilter:
        """From the page's widgets: blank text means no filter; `days` is a date input's
        value (one day, a pair, or nothing)."""
        first = last = None
        if isinstance(days, dt.date):
            first = last = days
        elif days:
            first, last = days[0], days[-1]
        if first is not None and last is not None and last < first:
            first, last = last, first
        return cls(
            user_id=user_id.strip() or None,
            first_day=first,
            last_day=last,
            text=text.strip()[:MAX_TEXT_CHARS] or None,
        )

    @property
    def start(self) -> dt.datetime | None:
        return None if self.first_day is None else _midnight(self.first_day)

    @property
    def end(self) -> dt.datetime | None:
        # The last day is included: the store's end is exclusive, so the next midnight.
        return None if self.last_day is None else _midnight(self.last_day + dt.timedelta(days=1))


async def search_page(
    store: Store,
    f: SearchFilter,
    *,
    after: ConversationSummary | None = None,
    limit: int = PAGE_SIZE,
) -> list[ConversationSummary]:
    """One page of matches, newest first; the next page starts `after` the last one."""
    return await store.search_conversations(
        user_id=f.user_id,
        start=f.start,
        end=f.end,
        text=f.text,
        before=None if after is None else after.timestamp,
        before_id=None if after is None else after.id,
        limit=limit,
    )


async def search_all(
    store: Store, f: SearchFilter, *, max_items: int = MAX_EXPORT
) -> list[ConversationSummary]:
    """Every match, newest first; `TooManyConversations` past `max_items`."""
    found: list[ConversationSummary] = []
    after = None
    while True:
        page = await search_page(store, f, after=after, limit=PAGE_SIZE)
        found.extend(page)
        if len(found) > max_items:
            raise TooManyConversations(
                f"more than {max_items} conversations match; narrow the search to export"
            )
        if len(page) < PAGE_SIZE:
            return found
        after = page[-1]


async def with_turns(
    store: Store, conversations: Sequence[ConversationSummary]
) -> list[ExportedConversation]:
    """Each conversation with its stored turns, in the given order."""
    gate = asyncio.Semaphore(_TURN_READS)

    async def one(c: ConversationSummary) -> ExportedConversation:
        async with gate:
            return ExportedConversation(c, await store.get_turns(c.id))

    return list(await asyncio.gather(*(one(c) for c in conversations)))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
