"""Dashboard fixtures: the real app script under `AppTest`, over a real store seeded with
known conversations, so every figure a page shows can be checked by hand.

How pages are opened: the dashboard registers its pages with `st.navigation` as callables
(`st.Page(render, url_path=...)`). `AppTest.switch_page` in Streamlit 1.67 only resolves
pages backed by files (it matches registered script paths, and a callable page has none),
so `open_page` requests the page the way a browser does: by the script hash Streamlit
derives from its url path (`calc_hash(url_path)`), set on the `AppTest` before the next
run. The guard runs first on every run, so signing in is part of opening any page.

The seeded data (`seed_store`, days relative to today, UTC):

| conversation | user  | day | turns | talk s | errors | cost USD |
|--------------|-------|-----|-------|--------|--------|----------|
| conv-a1      | alice | D-2 | 2     | 120    | 0      | 0.03     |
| conv-b1      | bob   | D-2 | 1     | 60     | 1      | 0.03     |
| conv-a2      | alice | D-1 | 2     | 180    | 0      | 0.045    |
| conv-c1      | carol | D   | 1     | 300    | 0      | 0.005    |

Users: alice, bob, carol (own limit 10 min/day), dave (no conversations). Counters: D-2 one
Live reconnect and one `error.live_unavailable`; D-1 two Live rotations. Each turn's timings
and tokens are in `TURNS`; the tests work their expected totals out by hand from them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from liveavatar.store import DB_FILENAME, SQLiteStore, Store, ToolCallRecord, TurnRecord
from tests.support.procs import free_port

APP = Path(__file__).resolve().parents[3] / "src/liveavatar/dashboard/entry/app.py"
TOKEN = "dashboard-test-token-0123456789"
UTC = dt.UTC


@dataclass(frozen=True)
class Conv:
    id: str
    user: str
    days_ago: int
    start: dt.time
    duration_s: float
    errors: int = 0


@dataclass(frozen=True)
class Turn:
    conv: str
    user_text: str
    model_text: str
    ttfa_ms: float | None
    latency_ms: float
    input_audio: int = 0
    input_text: int = 0
    input_video: int = 0
    output_audio: int = 0
    output_text: int = 0
    thoughts: int = 0
    cost_usd: float = 0.0
    interrupted: bool = False
    tool: ToolCallRecord | None = None
    heard: str | None = None  # what the page reported as heard
    av_offset_ms: float | None = None


USERS = {
    "alice": "alice@example.com",
    "bob": "bob@example.com",
    "carol": "carol@example.org",
    "dave": "dave@example.net",
}
CAROL_LIMIT_MIN = 10.0

CONVERSATIONS = [
    Conv("conv-a1", "alice", 2, dt.time(10, 0), 120),
    Conv("conv-b1", "bob", 2, dt.time(11, 0), 60, errors=1),
    Conv("conv-a2", "alice", 1, dt.time(9, 0), 180),
    Conv("conv-c1", "carol", 0, dt.time(0, 0, 1), 300),
]

WEATHER = ToolCallRecord(
    name="get_weather", args=json.dumps({"city": "Paris"}), result="sunny", duration_ms=120
)
TURNS = [
    Turn("conv-a1", "What are your opening hours?", "We open at nine.", 400, 900,
         input_audio=100, output_audio=200, output_text=20, cost_usd=0.01),
    Turn("conv-a1", "And on Sunday?", "Closed on Sundays.", 600, 1100,
         input_audio=150, output_audio=300, output_text=30, cost_usd=0.02),
    Turn("conv-b1", "Weather in Paris?", "It is sunny in Paris.", 500, 1500,
         input_text=40, input_video=10, output_audio=250, output_text=25, thoughts=5,
         cost_usd=0.03, tool=WEATHER),
    Turn("conv-a2", "Tell me a joke", "Why did the robot cross the road?", None, 700,
         input_text=30, output_text=40, cost_usd=0.005, av_offset_ms=-6.0),
    Turn("conv-a2", "Another one", "A second joke, cut short", 800, 2000,
         input_audio=200, output_audio=400, output_text=50, thoughts=10, cost_usd=0.04,
         interrupted=True, heard="A second joke,", av_offset_ms=12.0),
    Turn("conv-c1", "Hello", "Hi Carol!", 300, 600,
         input_audio=50, output_audio=100, output_text=10, cost_usd=0.005),
]  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    """What a test needs to know about the seeded store: its days and its environment."""

    today: dt.date
    data_dir: Path

    def day(self, days_ago: int) -> str:
        return (self.today - dt.timedelta(days=days_ago)).isoformat()


def _start(conv: Conv, today: dt.date) -> dt.datetime:
    return dt.datetime.combine(today - dt.timedelta(days=conv.days_ago), conv.start, UTC)


async def seed_store(store: Store, today: dt.date) -> None:
    """Write the fixture's users, conversations, turns, usage, costs and counters the way
    the backend does (one session start counted per conversation, usage and cost charged
    to the user's day)."""
    for uid, email in USERS.items():
        await store.ensure_user(uid, email)
    await store.update_user("carol", quota_minutes_per_day=CAROL_LIMIT_MIN)
    by_conv = {c.id: c for c in CONVERSATIONS}
    for conv in CONVERSATIONS:
        start = _start(conv, today)
        await store.start_conversation(conv.id, conv.user, start, 1)
        await store.increment_daily(start.date(), sessions=1)
    index: dict[str, int] = {}
    for t in TURNS:
        conv = by_conv[t.conv]
        i = index.get(t.conv, 0)
        index[t.conv] = i + 1
        started = _start(conv, today) + dt.timedelta(seconds=10 * (i + 1))
        record = TurnRecord(
            index=i,
            user_text=t.user_text,
            model_text=t.model_text,
            interrupted=t.interrupted,
            started_at=started,
            ended_at=started + dt.timedelta(seconds=5),
            time_to_first_audio_ms=t.ttfa_ms,
            turn_latency_ms=t.latency_ms,
            input_audio_tokens=t.input_audio,
            input_text_tokens=t.input_text,
            input_video_tokens=t.input_video,
            output_audio_tokens=t.output_audio,
            output_text_tokens=t.output_text,
            thoughts_tokens=t.thoughts,
            prompt_tokens=t.input_audio + t.input_text + t.input_video,
            response_tokens=t.output_audio + t.output_text,
            cost_usd=t.cost_usd,
            tool_calls=[t.tool] if t.tool else [],
            av_offset_ms=t.av_offset_ms,
        )
        assert await store.append_turn(conv.id, record)
        if t.heard is not None:  # the page's report comes after the turn is stored
            assert await store.record_playback(conv.id, i, t.heard, t.av_offset_ms)
    await store.increment_daily(
        today - dt.timedelta(days=2),
        counters={"live.reconnect": 1, "error.live_unavailable": 1},
    )
    await store.increment_daily(today - dt.timedelta(days=1), counters={"live.rotation": 2})
    for conv in CONVERSATIONS:
        start = _start(conv, today)
        end = start + dt.timedelta(seconds=conv.duration_s)
        await store.end_conversation(conv.id, end, conv.duration_s, errors=conv.errors)
        await store.add_usage(conv.user, start.date(), conv.duration_s)
        cost = sum(t.cost_usd for t in TURNS if t.conv == conv.id)
        await store.add_cost(conv.user, start.date(), cost)


def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ENVIRONMENT", "IAP_AUDIENCE", "ADMIN_TOKEN", "K_SERVICE", "STORE_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    # Settings also read .env files from the working directory: none in a fresh folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("STORE_BACKEND", "sqlite")
    monkeypatch.setenv("QUOTA_MINUTES_PER_DAY", "30")
    # Nothing listens there: the Overview must say the backend is not reachable.
    monkeypatch.setenv("BACKEND_URL", f"ws://127.0.0.1:{free_port()}")


@pytest.fixture
def dashboard_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The dashboard's environment with an empty store and ADMIN_TOKEN set; its data dir."""
    _clean_env(monkeypatch, tmp_path)
    monkeypatch.setenv("ADMIN_TOKEN", TOKEN)
    return tmp_path / "data"


@pytest.fixture
def seeded(dashboard_env: Path) -> Seeded:
    """`dashboard_env` with the store seeded as the module docstring describes."""
    today = dt.datetime.now(UTC).date()

    async def run() -> None:
        store = SQLiteStore(dashboard_env / DB_FILENAME)
        try:
            await seed_store(store, today)
        finally:
            await store.close()

    asyncio.run(run())
    return Seeded(today=today, data_dir=dashboard_env)


def new_app() -> AppTest:
    """The dashboard script, not yet run."""
    return AppTest.from_file(str(APP), default_timeout=30)


def sign_in(at: AppTest, token: str = TOKEN) -> AppTest:
    """Run the script (it shows the sign-in form) and sign in with `token`."""
    at.run()
    at.text_input(key="admin_token").input(token)
    at.button(key="sign_in").click()
    return at.run()


def open_page(at: AppTest, url_path: str) -> AppTest:
    """Open the page registered under `url_path` (see the module docstring) and run."""
    at._page_hash = calc_hash(url_path)
    return at.run()


@pytest.fixture
def app(dashboard_env: Path) -> Iterator[AppTest]:
    """A signed-in dashboard over the empty store."""
    yield sign_in(new_app())


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]
