"""The speech-model pool of the integration tests serves the load run's script brain too."""

from tests.integration.conftest import recognizers

__all__ = ["recognizers"]
