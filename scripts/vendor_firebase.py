"""Copy the Firebase JS SDK the page's sign-in uses from its npm package (pinned in
package.json) into frontend/vendor/firebase/, so the page loads it from its own origin:
no CDN at run time, and a Content-Security-Policy of `script-src 'self'` is enough.

The package ships the CDN's ES-module builds (`firebase-app.js`, `firebase-auth.js`);
`firebase-auth.js` imports the app module by its CDN address, which is rewritten to the
copy beside it. The copies are generated (not committed); `make` runs this after
`npm ci`, and deploy/deploy.sh before it uploads the site.

    python scripts/vendor_firebase.py [--node-modules DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = ("firebase-app.js", "firebase-auth.js")
_CDN_IMPORT = re.compile(
    r"https://www\.gstatic\.com/firebasejs/[0-9][0-9A-Za-z.+-]*/(firebase-[a-z-]+\.js)"
)
_SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


def vendor(node_modules: Path, out: Path) -> str:
    """Write the rewritten modules and a VERSION file into `out`; return the version."""
    package = node_modules / "firebase"
    version = str(json.loads((package / "package.json").read_text())["version"])
    out.mkdir(parents=True, exist_ok=True)
    for name in MODULES:
        text = (package / name).read_text(encoding="utf-8")
        text = _CDN_IMPORT.sub(lambda m: f"./{m.group(1)}", text)
        text = _SOURCE_MAP.sub("\n", text)  # the maps are not copied
        if "gstatic.com/firebasejs" in text:
            raise SystemExit(f"{name}: a CDN import is left after rewriting")
        (out / name).write_text(text, encoding="utf-8")
    (out / "VERSION").write_text(version + "\n")
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, default=REPO / "node_modules")
    parser.add_argument("--out", type=Path, default=REPO / "frontend" / "vendor" / "firebase")
    args = parser.parse_args(argv)
    version = vendor(args.node_modules, args.out)
    sys.stderr.write(f"firebase {version} -> {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
