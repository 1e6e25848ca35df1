"""Backend proxy overhead: what `liveavatar serve` adds to the audio round trip.

`python -m bench.proxy --sessions N --seconds S --json` starts two child processes, the Live
emulator with the echo brain (TLS, as the backend's SDK always uses wss) and the backend
(`liveavatar serve`, pinned to one core where the machine has more than one; the emulator
and this load generator get the other cores). Then, in one run and against the same children:

1. direct: N sessions speak the Live protocol straight to the emulator over TLS, sending
   20 ms chunks of 16 kHz PCM16 as base64 JSON in real time for S seconds;
2. proxied: one short warm-up session (so the backend's first-use imports and caches are
   not billed to the sessions), an idle RSS sample, then N browser sessions to the backend
   (`hello`, `ready`, then raw binary PCM16 frames) in real time for S seconds.

On a two-core machine the emulator shares the load generator's core, except in the direct
phase, where the idle backend's core is lent to it so the baseline is not load-generator
bound. Each chunk carries its sequence number in its first samples, so every echo is
matched to its own send time (round trip = arrival - send, on this process's monotonic
clock). Chunks sent in the first `--warmup` seconds are excluded; CPU is measured over the
remaining steady window from /proc (utime + stime, in % of one core).

Main keys: `direct_ms`, `proxied_ms` (p50/p95/p99/max/n), `added_ms` (proxied minus direct,
per percentile), `backend_cpu_percent`, `backend_rss_mb` (peak), `rss_mb_per_session`
((peak - idle) / N; `rss_mb_per_session_connected` uses the RSS once all sessions are
connected, before audio, so it excludes backlog buffers), `dropped_chunks` (unanswered +
the backend's liveavatar_dropped_audio_chunks_total), `loadgen_cpu_percent`,
`emulator_cpu_percent`, `other_cpu_percent` (approximate: everything else on the machine,
a sign of a skewed run), `chunks_sent`/`chunks_received` per phase, `errors` and
`error_details`, and per-phase detail (`send_lag_ms`: how late the pacing timers fired;
`server_errors`, `server_closes`).

`--recording` runs the whole measurement twice, side by side, with fresh children each time:
recording off, then on for every session (a persona with `recording` saved in the
backend's store, recordings written to its media folder). It reports both runs
(`recording.off`, `recording.on`), `recording.p95_added_rise_ms` (on minus off: the latency
recording adds, target <= 2 ms), `recording.cpu_percent_per_recorded_session` (the
backend's CPU on minus off, divided by the sessions, in % of one core) and what was
recorded (`recording.files`, `recording.bytes`).

`--peer light` puts `bench/_echo_peer.py` in the emulator's place for both phases: the
same echo (setup answered, each audio chunk returned at 24 kHz) on picows, light enough
that a few hundred sessions fit beside the load generator on one core, where the emulator
fills that core at about 140 (docs/PERFORMANCE.md). The emulator stays the default.

The result is one JSON object on stdout; children's logs are drained and summarized, never
echoed. `--find-max` searches (doubling, then bisection to 5 %; fresh children per probe,
a probe disturbed by other processes is repeated once) for the most sessions whose p95
added latency stays under `--threshold-ms` with no errors and at most 0.1 % drops.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from liveavatar.child_lifetime import sigterm_as_interrupt

from ._children import kill_leftovers, metric_value, set_verbose
from ._cpu import CpuLayout
from ._proxy_run import RunConfig, run_once
from ._proxy_search import find_max, passes, recording_side_by_side

__all__ = ["CpuLayout", "RunConfig", "find_max", "main", "metric_value", "passes", "run_once"]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print one JSON object on stdout."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.proxy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sessions", type=int, default=10, help="concurrent sessions (10)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per phase (10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds excluded (1)")
    parser.add_argument("--drain-timeout", type=float, default=5.0, help="wait for echoes (5)")
    parser.add_argument("--json", action="store_true", help="one compact JSON line (default)")
    parser.add_argument("--find-max", action="store_true", help="search the session count")
    parser.add_argument("--probe-seconds", type=float, default=5.0, help="per probe (5)")
    parser.add_argument("--max-sessions", type=int, default=2000, help="search limit (2000)")
    parser.add_argument("--threshold-ms", type=float, default=20.0, help="p95 added (20)")
    parser.add_argument(
        "--live-client",
        choices=["raw", "picows", "sdk"],
        default="picows",
        help="backend's Live client (picows, the product's default)",
    )
    parser.add_argument(
        "--peer",
        choices=["emulator", "light"],
        default="emulator",
        help="Live peer: the emulator's echo brain, or bench/_echo_peer.py (light)",
    )
    parser.add_argument(
        "--recording", action="store_true", help="recording off vs on, side by side"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    set_verbose(args.verbose)
    seconds = args.probe_seconds if args.find_max else args.seconds
    if args.sessions < 1 or seconds <= 0 or not 0 <= args.warmup < seconds:
        parser.error("need --sessions >= 1 and 0 <= --warmup < seconds")
    cfg = RunConfig(
        args.sessions,
        seconds,
        args.warmup,
        args.drain_timeout,
        CpuLayout.detect(),
        args.live_client,
        peer=args.peer,
    )
    try:
        with sigterm_as_interrupt():
            if args.recording:
                result = asyncio.run(recording_side_by_side(cfg))
            elif args.find_max:
                result = asyncio.run(
                    find_max(args.sessions, args.max_sessions, args.threshold_ms, cfg)
                )
            else:
                result = asyncio.run(run_once(cfg))
    except KeyboardInterrupt:
        return 130
    finally:
        kill_leftovers()
    print(json.dumps(result) if args.json else json.dumps(result, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
