"""The dashboard's IAP guard in production, run in a process of its own (see
`test_iap_production.py`): `python -m tests.integration.dashboard._iap_app`.

The process starts with production's settings and the stand-ins' variables already set,
as Cloud Run starts the dashboard: google-auth reads `GCE_METADATA_HOST` and gRPC its trust
store and proxy once, when first used, so they cannot be set later inside pytest's own
process. It seeds the store through the product's own Firestore client (the table in
`conftest.py`), runs the app script under `AppTest` once per scenario with the assertion
IAP would add (`ASSERTIONS_VAR`: JSON {scenario: assertion or null}), and prints one JSON
report: what each scenario showed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from typing import Any

from streamlit.testing.v1 import AppTest

from liveavatar.auth.iap import IAP_HEADER
from liveavatar.dashboard import guard
from liveavatar.settings import load_settings
from liveavatar.store import make_store
from tests.integration.dashboard.conftest import new_app, open_page, seed_store, titles

ASSERTIONS_VAR = "LIVEAVATAR_TEST_IAP_ASSERTIONS"
PAGES = ("overview", "conversations", "persona", "users", "media")


async def _seed() -> None:
    store = make_store(load_settings())
    try:
        await seed_store(store, dt.datetime.now(dt.UTC).date())
    finally:
        await store.close()


def _shown(at: AppTest) -> dict[str, Any]:
    return {
        "exception": [str(e.value) for e in at.exception],
        "titles": titles(at),
        "errors": [e.value for e in at.error],
        "captions": [c.value for c in at.sidebar.caption],
        "token_form": len(at.text_input) > 0,
        "table_rows": [len(frame.value) for frame in at.dataframe],
    }


def _scenario(assertion: str | None) -> dict[str, Any]:
    headers = {IAP_HEADER: assertion} if assertion else {}
    guard._request_headers = lambda: headers  # the header IAP adds
    at = new_app().run()
    report = _shown(at)
    admin = at.session_state["admin"] if "admin" in at.session_state else None  # noqa: SIM401 - no get()
    report["admin_email"] = getattr(admin, "email", None)
    if report["titles"] == ["Overview"]:
        report["pages"] = {page: _shown(open_page(at, page)) for page in PAGES}
    return report


def main() -> int:
    assertions: dict[str, str | None] = json.loads(os.environ[ASSERTIONS_VAR])
    asyncio.run(_seed())
    report = {name: _scenario(assertion) for name, assertion in assertions.items()}
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
