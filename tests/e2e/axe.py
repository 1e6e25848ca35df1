"""axe-core (the npm package, pinned in package.json) run inside a page under test: the
accessibility problems it finds of serious or critical impact."""

from __future__ import annotations

from typing import Any

from bench._browser import REPO
from playwright.sync_api import Page

AXE_JS = REPO / "node_modules" / "axe-core" / "axe.min.js"
#: axe's impacts, least to most: minor, moderate, serious, critical.
BLOCKING = ("serious", "critical")

_RUN = """
async (selector) => {
  const context = selector ? document.querySelector(selector) : document;
  const result = await axe.run(context, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.map(String).join(' >> ')).slice(0, 5),
  }));
}
"""


def axe_violations(page: Page, within: str | None = None) -> list[dict[str, Any]]:
    """Serious and critical violations in the page (or the element `within` selects,
    shadow roots included). The script is evaluated through the browser's debugging
    protocol, so the page's own CSP does not stand in its way."""
    if not AXE_JS.is_file():
        raise FileNotFoundError(f"{AXE_JS} is missing: run `npm ci` in the repository")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text())
    found: list[dict[str, Any]] = page.evaluate(_RUN, within)
    return [v for v in found if v["impact"] in BLOCKING]
