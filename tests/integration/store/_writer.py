"""A second process writing to the same SQLite file (as the dashboard would, beside the backend).

usage: python -m tests.integration.store._writer DB_PATH PREFIX COUNT
Prints "ready" once its store answers, waits for a line on stdin, then writes COUNT
conversations of three turns each, with their daily metrics and usage, and prints "done".
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from liveavatar.store import SQLiteStore
from tests.integration.store.test_sqlite import write_sessions


def _say(line: str) -> None:
    # The parent waits for these lines on the pipe (stdout is the protocol, not a log).
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(path: Path, prefix: str, count: int) -> None:
    store = SQLiteStore(path)
    try:
        await store.ping()
        _say("ready")
        await asyncio.to_thread(sys.stdin.readline)
        await write_sessions(store, prefix, count)
        _say("done")
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
