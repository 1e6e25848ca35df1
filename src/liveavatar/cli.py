"""The `liveavatar` command: thin entry points that build settings and start a service."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from liveavatar.log import configure_logging
from liveavatar.secrets import SecretError
from liveavatar.settings import (
    Settings,
    check_serving,
    check_storage,
    describe_errors,
    load_settings,
)

if TYPE_CHECKING:
    from liveavatar.emulator.server import EmulatorServer

NOT_BUILT = 3
T = TypeVar("T")


def _emulator_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("emulator", help="run the offline Gemini Live emulator")
    p.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 9000; 0 picks a free one)")
    p.add_argument("--no-tls", action="store_true", help="serve plain ws:// for raw clients")
    p.add_argument("--cert-dir", type=Path, help="where cert.pem is written and read")
    p.add_argument("--api-key", help="require this key from every client")
    p.add_argument("--brain", choices=["script", "echo"], help="reply script or audio echo")
    p.add_argument("--script", type=Path, help="JSON reply script replacing the built-in one")
    p.add_argument("--lifetime", type=float, help="connection lifetime in seconds (600)")
    p.add_argument("--goaway-notice", type=float, help="seconds of goAway notice (60)")
    p.add_argument("--text-frames", action="store_true", help="send JSON as text frames")
    p.add_argument(
        "--fault-close-after",
        type=float,
        metavar="S",
        help="close with 1011 mid-turn once S seconds have passed",
    )
    p.add_argument(
        "--fault-first-audio-delay-ms",
        type=int,
        metavar="MS",
        help="delay the first audio chunk of every turn",
    )
    p.add_argument(
        "--fault-refuse-setup",
        type=int,
        choices=[1007, 1008],
        help="refuse every setup with this close code",
    )
    p.add_argument(
        "--fault-refuse-avatar",
        type=int,
        choices=[1007, 1008],
        help="refuse every live-avatar (VIDEO) setup with this close code",
    )
    p.add_argument(
        "--fault-stall-after",
        type=float,
        metavar="S",
        help="stop sending and reading after S seconds, without closing",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveavatar", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run everything locally with embedded defaults")
    sub.add_parser("serve", help="run the backend (what Cloud Run runs)")
    sub.add_parser("dashboard", help="run the Streamlit admin dashboard")
    purge = sub.add_parser("purge", help="delete conversations older than RETENTION_DAYS")
    purge.add_argument("--days", type=int, help="override RETENTION_DAYS for this run")
    _emulator_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SecretError as exc:
        print(f"liveavatar: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except ValidationError as exc:
        msg = f"liveavatar: invalid configuration:\n{describe_errors(exc)}"
        print(msg, file=sys.stderr)  # noqa: T201
        return 2
    configure_logging(
        settings.log_level,
        fmt=settings.log_format,
        production=settings.environment in ("production", "staging"),
    )
    if args.command == "emulator":
        return _run_emulator(args, settings)
    refusal = _production_refusal(args.command, settings)
    if refusal:
        print(f"liveavatar {args.command}: {refusal}", file=sys.stderr)  # noqa: T201
        return 2
    if args.command == "serve":
        from liveavatar.server.runner import serve

        serve(settings)
        return 0
    if args.command == "up":
        from liveavatar.child_lifetime import sigterm_as_interrupt

        with sigterm_as_interrupt():
            return _run_up(settings)
    if args.command == "purge":
        return asyncio.run(_purge(settings, args.days))
    if args.command == "dashboard":
        from liveavatar.dashboard.serve import run_dashboard

        return run_dashboard(settings)
    print(f"liveavatar {args.command}: not built yet", file=sys.stderr)  # noqa: T201
    return NOT_BUILT


def _production_refusal(command: str, settings: Settings) -> str | None:
    """Why production refuses to run `command` with these settings, if it does."""
    checks = {"serve": check_serving, "dashboard": check_storage, "purge": check_storage}
    check = checks.get(command)
    try:
        if check is not None:
            check(settings)
    except ValueError as exc:
        return str(exc)
    return None


def _run_emulator(args: argparse.Namespace, settings: Settings) -> int:
    from liveavatar.emulator.config import EmulatorConfig, FaultConfig
    from liveavatar.emulator.server import EmulatorServer

    cfg = EmulatorConfig.from_settings(settings)
    faults = cfg.faults
    faults = FaultConfig(
        close_after_s=_pick(args.fault_close_after, faults.close_after_s),
        first_audio_delay_ms=_pick(args.fault_first_audio_delay_ms, faults.first_audio_delay_ms),
        refuse_setup=_pick(args.fault_refuse_setup, faults.refuse_setup),
        stall_after_s=_pick(args.fault_stall_after, faults.stall_after_s),
        refuse_avatar=_pick(args.fault_refuse_avatar, faults.refuse_avatar),
    )
    cfg = replace(
        cfg,
        host=_pick(args.host, cfg.host),
        port=_pick(args.port, cfg.port),
        tls=cfg.tls and not args.no_tls,
        cert_dir=_pick(args.cert_dir, cfg.cert_dir),
        api_key=_pick(args.api_key, cfg.api_key),
        brain=_pick(args.brain, cfg.brain),
        script_path=_pick(args.script, cfg.script_path),
        connection_lifetime_s=_pick(args.lifetime, cfg.connection_lifetime_s),
        goaway_notice_s=_pick(args.goaway_notice, cfg.goaway_notice_s),
        text_frames=cfg.text_frames or args.text_frames,
        faults=faults,
    )
    try:
        server = EmulatorServer(cfg)
    except (OSError, ValueError) as exc:
        print(f"liveavatar emulator: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    asyncio.run(_serve_until_signal(server))
    return 0


async def _serve_until_signal(server: EmulatorServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def _pick(value: T | None, default: T) -> T:
    return default if value is None else value


def _run_up(settings: Settings) -> int:
    """Everything on one machine: the emulator and the dashboard as child processes, the
    backend here."""
    import socket
    import subprocess
    import threading
    import time

    from liveavatar.child_lifetime import exit_with_parent
    from liveavatar.dashboard.serve import dashboard_address, wait_healthy
    from liveavatar.server.runner import serve

    settings = _local_urls(settings)
    # The children read the same URLs: the dashboard finds the backend's /metrics at its
    # real port, and the page's Dashboard link (from the backend) opens this dashboard.
    env = {
        **os.environ,
        "BACKEND_URL": settings.backend_url,
        "DASHBOARD_URL": settings.dashboard_url,
    }
    # However `up` ends, its children end with it: SIGTERM (taken as Ctrl-C, see `main`;
    # uvicorn handles both itself while it serves) leaves through the `finally` below, and
    # a SIGKILLed `up` has the kernel send SIGTERM to each child.
    emulator = subprocess.Popen(
        [sys.executable, "-m", "liveavatar", "emulator"], env=env, preexec_fn=exit_with_parent()
    )
    dashboard = subprocess.Popen(
        [sys.executable, "-m", "liveavatar", "dashboard"], env=env, preexec_fn=exit_with_parent()
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if emulator.poll() is not None:
                print("liveavatar up: the emulator failed to start", file=sys.stderr)  # noqa: T201
                return 1
            try:
                socket.create_connection(
                    (settings.emulator_host, settings.emulator_port), 1
                ).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    print("liveavatar up: the emulator did not start", file=sys.stderr)  # noqa: T201
                    return 1
                time.sleep(0.1)
        if settings.live_backend == "emulator" and settings.vertex_ai_endpoint is None:
            settings = settings.model_copy(update={"vertex_ai_endpoint": settings.emulator_url})
        frontend = (
            settings.frontend_dir if (settings.frontend_dir / "index.html").exists() else None
        )
        host, port, _ = dashboard_address(settings)

        def announce_dashboard() -> None:
            # Off the start path: the backend need not wait for Streamlit to come up.
            healthy = wait_healthy(host, port, dashboard, timeout_s=60)
            line = f"http://localhost:{port}/" if healthy else "(did not start: see the log)"
            print(f"Dashboard      {line}", file=sys.stderr)  # noqa: T201

        threading.Thread(target=announce_dashboard, name="dashboard-ready", daemon=True).start()
        print(  # noqa: T201
            f"Frontend       http://localhost:{settings.frontend_port}/\n"
            if frontend
            else "Frontend       (no frontend/ folder here)\n",
            f"Backend        ws://localhost:{settings.port}/ws\n"
            f"Live emulator  wss://{settings.emulator_host}:{settings.emulator_port}\n",
            sep="",
            file=sys.stderr,
        )
        serve(settings, frontend=frontend)
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        for child in (dashboard, emulator):
            child.terminate()
        for child in (dashboard, emulator):
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _local_urls(settings: Settings) -> Settings:
    """`up` runs everything on this machine: the backend's and the dashboard's public URLs
    follow their ports unless set explicitly (`BACKEND_URL`, `DASHBOARD_URL`)."""
    from liveavatar.dashboard.serve import dashboard_address

    update: dict[str, str] = {}
    if "backend_url" not in settings.model_fields_set:
        update["backend_url"] = f"ws://localhost:{settings.port}"
    if "dashboard_url" not in settings.model_fields_set:
        update["dashboard_url"] = f"http://localhost:{dashboard_address(settings)[1]}"
    return settings.model_copy(update=update)


async def _purge(settings: Settings, days: int | None) -> int:
    """Apply the retention setting once (run it daily, e.g. from Cloud Scheduler)."""
    import datetime as dt
    import logging

    from liveavatar.media import make_media_store
    from liveavatar.store import make_store, purge_expired

    store = make_store(settings)
    try:
        keep = days if days is not None else settings.retention_days
        media = await asyncio.to_thread(make_media_store, settings)  # recordings go too
        deleted = await purge_expired(store, keep, dt.datetime.now(dt.UTC), media=media)
    finally:
        await store.close()
    logging.getLogger("liveavatar.purge").info(
        "retention applied", extra={"deleted": deleted, "retention_days": keep}
    )
    return 0
