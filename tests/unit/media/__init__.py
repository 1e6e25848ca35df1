"""Unit tests of avatar media: names, the local store, signed-URL routes, the factory."""
