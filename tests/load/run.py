"""The documented longer load run: `python -m tests.load.run --users 60 --minutes 3`.

Starts the stage of `harness.py`, runs locust headless, and prints as JSON what
PERFORMANCE.md records: sessions held, each metric's percentiles, failures, and the
backends' memory over the run (sampled every `--sample-every` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from typing import Any

from tests.load.harness import LoadResult, load_stack, run_locust


def summary(result: LoadResult, args: argparse.Namespace) -> dict[str, Any]:
    samples = result.samples
    return {
        "users": args.users,
        "script_users": args.script_users,
        "seconds": int(args.minutes * 60),
        "exit_code": result.exit_code,
        "sessions_held_max": max(
            (s.echo_sessions or 0) + (s.script_sessions or 0) for s in samples
        ),
        "stats": {name: dataclasses.asdict(stat) for name, stat in result.stats.items()},
        "failures": result.failures,
        # Over time: [seconds, echo backend RSS MiB, its sessions, its CPU s, the echo
        # emulator's CPU s, locust's CPU s, load average]; the script backend's apart.
        "echo_backend": [
            [
                s.at_s,
                s.echo_rss_mb,
                s.echo_sessions,
                s.echo_cpu_s,
                s.echo_emulator_cpu_s,
                s.locust_cpu_s,
                s.load_1m,
            ]
            for s in samples
        ],
        "script_backend": [[s.at_s, s.script_rss_mb, s.script_sessions] for s in samples],
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=60, help="all users, script ones included")
    parser.add_argument("--script-users", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--spawn-rate", type=float, default=5.0, help="users started a second")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds")
    args = parser.parse_args()
    async with load_stack() as stack:
        result = await run_locust(
            stack,
            users=args.users,
            script_users=args.script_users,
            seconds=int(args.minutes * 60),
            spawn_rate=args.spawn_rate,
            sample_every_s=args.sample_every,
        )
    sys.stdout.write(json.dumps(summary(result, args), indent=1) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
