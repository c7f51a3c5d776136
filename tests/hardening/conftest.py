"""Fixtures of the fault tests."""

from tests.support.private_redis import private_redis  # noqa: F401 - a fixture
