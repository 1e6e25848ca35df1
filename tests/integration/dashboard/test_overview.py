"""The Overview against the seeded store: every figure worked out by hand from the
fixture's table (conftest.py)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Awaitable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd  # type: ignore[import-untyped]
import pytest
from streamlit.testing.v1 import AppTest

from liveavatar.dashboard.pages import overview
from liveavatar.store import SQLiteStore
from tests.integration.dashboard.conftest import Seeded, new_app, sign_in
from tests.integration.dashboard.pages_support import with_store


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _per_user(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def _daily(at: AppTest) -> pd.DataFrame:
    return at.dataframe[1].value


def test_totals_over_the_default_range(seeded: Seeded) -> None:
    at = sign_in(new_app())
    assert not at.exception
    m = _metrics(at)
    # 4 conversations, each one session; turns 2 + 1 + 2 + 1; talk 120 + 60 + 180 + 300 s.
    assert m["Sessions"] == "4"
    assert m["Turns"] == "6"
    assert m["Conversation minutes"] == "11.0"
    # One session error (bob's), one reconnect (D-2), two rotations (D-1).
    assert m["Errors"] == "1"
    assert m["Live reconnects / rotations"] == "1 / 2"
    # Tokens: D-2 250 + 40 + 10 + 750 + 75 + 5; D-1 200 + 30 + 400 + 90 + 10; D 50 + 100 + 10.
    assert m["Tokens"] == "2,020"
    # 0.01 + 0.02 + 0.03 + 0.005 + 0.04 + 0.005
    assert m["Estimated cost (USD)"] == "0.1100"


def test_av_offset_over_the_range(seeded: Seeded) -> None:
    at = sign_in(new_app())
    # The two answers with an offset, both on D-1 (conv-a2): -6 ms, and +12 ms as reported
    # after its turn. Nearest rank over two: p50 the first, p95 the second.
    assert _metrics(at)["A/V offset p50 / p95"] == "-6.0 / +12.0 ms"

    # Three more answers reported on D-2 (conv-a1's two and conv-b1's): +30, +4, +20.
    def report(store: SQLiteStore) -> Awaitable[list[bool]]:
        async def run() -> list[bool]:
            reports = [("conv-a1", 0, 30.0), ("conv-a1", 1, 4.0), ("conv-b1", 0, 20.0)]
            return [await store.record_playback(c, i, "", ms) for c, i, ms in reports]

        return run()

    assert all(with_store(seeded.data_dir, report))
    overview._load.clear()
    at = sign_in(new_app())
    # Sorted: -6, +4, +12, +20, +30: rank ceil(2.5) = 3 and ceil(4.75) = 5.
    assert _metrics(at)["A/V offset p50 / p95"] == "+12.0 / +30.0 ms"
    assert "5 answers" in " ".join(c.value for c in at.caption)
    # Only D-2 picked: +4, +20, +30.
    at.date_input(key="overview_dates").set_value((seeded.today - dt.timedelta(days=2),) * 2)
    at.run()
    assert _metrics(at)["A/V offset p50 / p95"] == "+20.0 / +30.0 ms"


def test_daily_figures(seeded: Seeded) -> None:
    at = sign_in(new_app())
    daily = _daily(at)
    assert len(daily) == overview.DEFAULT_DAYS
    d2, d1, d0 = (daily.loc[seeded.day(n)] for n in (2, 1, 0))
    assert (d2["sessions"], d1["sessions"], d0["sessions"]) == (2, 1, 1)
    assert (d2["turns"], d1["turns"], d0["turns"]) == (3, 2, 1)
    assert (d2["minutes"], d1["minutes"], d0["minutes"]) == (3.0, 3.0, 5.0)
    assert d2["cost_usd"] == pytest.approx(0.06)
    assert d1["cost_usd"] == pytest.approx(0.045)
    assert d0["cost_usd"] == pytest.approx(0.005)
    # Nearest rank over D-2's turns: latency 900, 1100, 1500; first audio 400, 600, 500.
    assert (d2["turn p50"], d2["turn p95"]) == (1100, 1500)
    assert (d2["first audio p50"], d2["first audio p95"]) == (500, 600)
    # D-1: latency 700, 2000; only the second turn had audio (800 ms).
    assert (d1["turn p50"], d1["turn p95"]) == (700, 2000)
    assert (d1["first audio p50"], d1["first audio p95"]) == (800, 800)
    assert (d0["turn p50"], d0["first audio p50"]) == (600, 300)
    assert (d2["input audio"], d2["output audio"], d2["output text"]) == (250, 750, 75)
    assert (d2["input text"], d2["input video"], d2["thoughts"]) == (40, 10, 5)
    assert (d1["input audio"], d1["output text"], d1["thoughts"]) == (200, 90, 10)
    assert (d2["reconnects"], d1["rotations"], d2["error.live_unavailable"]) == (1, 2, 1)
    quiet = daily.drop(index=[seeded.day(n) for n in (2, 1, 0)])
    assert (quiet[["sessions", "turns", "minutes", "reconnects"]] == 0).all().all()
    assert quiet["turn p50"].isna().all()


def test_cost_per_user_and_errors_by_kind(seeded: Seeded) -> None:
    at = sign_in(new_app())
    per_user = _per_user(at)
    # alice: 120 + 180 s, 0.03 + 0.045; bob: 60 s, 0.03; carol: 300 s, 0.005.
    assert list(per_user.index) == ["alice", "bob", "carol"]
    assert list(per_user["minutes"]) == pytest.approx([5.0, 1.0, 5.0])
    assert list(per_user["cost_usd"]) == pytest.approx([0.075, 0.03, 0.005])
    table = at.table[0].value
    assert list(table["kind"]) == ["live_unavailable"]
    assert list(table["count"]) == [1]


def test_the_date_range_narrows_every_figure(seeded: Seeded) -> None:
    at = sign_in(new_app())
    day = dt.timedelta(days=1)
    at.date_input(key="overview_dates").set_value((seeded.today - day, seeded.today)).run()
    m = _metrics(at)
    assert (m["Sessions"], m["Turns"], m["Conversation minutes"]) == ("2", "3", "8.0")
    assert m["Estimated cost (USD)"] == "0.0500"
    assert m["Live reconnects / rotations"] == "0 / 2"
    assert list(_daily(at).index) == [seeded.day(1), seeded.day(0)]
    assert list(_per_user(at).index) == ["alice", "carol"]


def test_charts_are_drawn(seeded: Seeded) -> None:
    at = sign_in(new_app())
    # Sessions, minutes, latency, tokens, events and cost per day.
    assert len(at.get("vega_lite_chart")) == 6


def test_an_empty_store_says_what_to_do(app: AppTest) -> None:
    assert not app.exception
    assert [i.value for i in app.info] == [overview.EMPTY]
    assert _metrics(app)["Sessions"] == "0"


def test_an_unreachable_backend_is_marked(seeded: Seeded) -> None:
    at = sign_in(new_app())
    assert _metrics(at)["Active sessions now"] == "n/a"
    assert any("Backend not reachable" in c.value for c in at.caption)


@pytest.fixture
def backend_metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A stand-in /metrics on 127.0.0.1 with three active sessions."""
    body = b"# TYPE liveavatar_active_sessions gauge\nliveavatar_active_sessions 3.0\n"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    monkeypatch.setenv("BACKEND_URL", f"ws://127.0.0.1:{server.server_address[1]}/ws")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_active_sessions_come_from_the_backend(seeded: Seeded, backend_metrics: None) -> None:
    at = sign_in(new_app())
    assert _metrics(at)["Active sessions now"] == "3"
    assert not any("Backend not reachable" in c.value for c in at.caption)
