import pytest


@pytest.fixture(autouse=True)
def _clear_cache():
    """Replace the suite-wide cache reset: sandbox tests use neither the database nor the cache."""
    return
