"""Shared fixtures: one tenant with a member of each role, and an outsider in another tenant.

The role fixtures return Membership rows: `owner.user`, `owner.tenant`, `owner.role`.
"""

import importlib.util

import pytest
from django.core.cache import cache

from tenants.models import Membership
from tests import factories

# The Keap sandbox's fixtures, once that app provides them.
if importlib.util.find_spec("keap_sandbox.pytest_plugin") is not None:
    pytest_plugins = ["keap_sandbox.pytest_plugin"]

Role = Membership.Role


@pytest.fixture(autouse=True)
def _clear_cache(db):
    # allauth's rate limits count in the cache (Redis), so one test's failed logins must not
    # make another test's requests get 429.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Django's default PBKDF2 work factor makes every created user and sign-in slow on purpose,
    # and test passwords need no resistance to cracking.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def tenant():
    return factories.make_tenant("Acme")


@pytest.fixture
def owner(tenant):
    return factories.make_membership(tenant, role=Role.OWNER, email="owner@example.com")


@pytest.fixture
def admin(tenant):
    return factories.make_membership(tenant, role=Role.ADMIN, email="admin@example.com")


@pytest.fixture
def member(tenant):
    return factories.make_membership(tenant, role=Role.MEMBER, email="member@example.com")


@pytest.fixture
def readonly_member(tenant):
    return factories.make_membership(tenant, role=Role.VIEWER, email="viewer@example.com")


@pytest.fixture
def outsider():
    """The owner of another tenant, "Globex", with no membership in `tenant`."""
    other = factories.make_tenant("Globex")
    return factories.make_membership(other, role=Role.OWNER, email="outsider@example.com")


@pytest.fixture
def make_user():
    return factories.make_user


@pytest.fixture
def make_tenant():
    return factories.make_tenant


@pytest.fixture
def make_membership():
    return factories.make_membership


@pytest.fixture
def make_invitation():
    return factories.make_invitation


@pytest.fixture
def login():
    """`login(client, user, seconds_ago=0)`: sign in with a sign-in record for reauthentication."""
    return factories.login
