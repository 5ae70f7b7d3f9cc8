"""POS API fixtures: the till helpers of the integration tests."""

from tests.integration.conftest import Till, new_till, till

__all__ = ["Till", "new_till", "till"]
