"""Fixtures for client API tests: a client site with a key, and requests that carry the key."""

import pytest

from tests.connector.site_factories import make_site


@pytest.fixture
def site(tenant):
    """An active site of `tenant` with the scopes contacts:write and tags:apply."""
    return make_site(tenant, name="Shop on example.com")


def bearer(raw_key):
    """Return test client keyword arguments that send `raw_key` as a bearer token."""
    return {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
