"""Cloud Run's metadata server, as google-auth reads it, on 127.0.0.1.

On Cloud Run the backend has no key file: google-auth finds the metadata server, reads the
project and the service account from it and asks it for access tokens. google-auth honours
`GCE_METADATA_HOST` (where the metadata API is) and `GCE_METADATA_IP` (where it pings to
find out whether it runs on Google Cloud), so the process under test is pointed here by
those two variables only, below the product. Every request must carry
`Metadata-Flavor: Google` and every answer does, as on the real server.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

_FLAVOR = "Metadata-Flavor"
_ACCOUNT = "/computeMetadata/v1/instance/service-accounts/default/"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class MetadataServer:
    """Answers the project, the default service account and its token; a context manager.

    `hits` counts requests per path (query string dropped), e.g. the token requests.
    """

    def __init__(self, *, project: str, email: str, access_token: str) -> None:
        self.hits: Counter[str] = Counter()
        documents: dict[str, Any] = {
            "/": "",
            "/computeMetadata/v1/project/project-id": project,
            "/computeMetadata/v1/universe/universe-domain": "googleapis.com",
            _ACCOUNT: {"aliases": ["default"], "email": email, "scopes": [SCOPE]},
            _ACCOUNT + "email": email,
            _ACCOUNT + "token": {
                "access_token": access_token,
                "expires_in": 3599,
                "token_type": "Bearer",
            },
        }
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                outer.hits[path] += 1
                document = documents.get(path)
                if self.headers.get(_FLAVOR) != "Google" or document is None:
                    self.send_error(403 if document is not None else 404)
                    return
                text = document if isinstance(document, str) else json.dumps(document)
                body = text.encode()
                self.send_response(200)
                self.send_header(_FLAVOR, "Google")
                kind = "application/text" if isinstance(document, str) else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="metadata-server",
            daemon=True,
        )

    @property
    def host(self) -> str:
        """The value of `GCE_METADATA_HOST` and `GCE_METADATA_IP`."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> MetadataServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
