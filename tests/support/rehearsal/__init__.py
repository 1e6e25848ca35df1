"""The production rehearsal: the backend run with production's Live settings, Google's real
hostnames answered by local stand-ins (see tests/integration/rehearsal)."""
