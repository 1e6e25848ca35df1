"""Shared fixtures: nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import os

# Google client libraries probe the metadata server unless told not to.
os.environ.setdefault("NO_GCE_CHECK", "true")
