"""Unit tests of the server package: security headers, static paths, API docs."""
