"""Every URL is either public or checked here: a user of tenant A never reaches tenant B's data."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import Membership, Tenant
from tests import factories
from tests.tenant_scoped_urls import (
    SESSION_TENANT_URLS,
    TENANT_ROWS,
    TENANT_SCOPED_URLS,
    USER_URLS,
)
from tests.url_patterns import is_public, iter_url_entries

Role = Membership.Role

REGISTERED = {**TENANT_SCOPED_URLS, **SESSION_TENANT_URLS, **USER_URLS}


def snapshot(tenant):
    """Return the rows of `tenant` that any view could change, as comparable values."""
    return {label: rows(tenant) for label, rows in TENANT_ROWS.items()}


@pytest.fixture
def tenant_a():
    return factories.make_tenant("Tenant A")


@pytest.fixture
def tenant_b():
    tenant = factories.make_tenant("Tenant B")
    factories.make_membership(tenant, role=Role.OWNER)
    factories.make_membership(tenant, role=Role.MEMBER)
    factories.make_invitation(tenant)
    return tenant


def client_for(tenant, role):
    membership = factories.make_membership(tenant, role=role)
    return factories.login(Client(), membership.user)


def test_it_covers_every_url_pattern():
    unlisted = [
        entry.route
        for entry in iter_url_entries()
        if not is_public(entry) and entry.name not in REGISTERED
    ]

    assert unlisted == [], (
        "Add these URL patterns to tests/tenant_scoped_urls.py (or, for a page open to "
        f"everyone, to the public list in tests/url_patterns.py): {unlisted}"
    )


def test_it_lists_only_existing_url_names():
    names = {entry.name for entry in iter_url_entries()}

    assert set(REGISTERED) - names == set()


def test_it_registers_each_name_once():
    tables = [TENANT_SCOPED_URLS, SESSION_TENANT_URLS, USER_URLS]
    counts = {name: sum(name in table for table in tables) for name in REGISTERED}

    assert {name: count for name, count in counts.items() if count > 1} == {}


@pytest.mark.parametrize("role", [Role.OWNER, Role.VIEWER])
@pytest.mark.parametrize("name", sorted(TENANT_SCOPED_URLS))
def test_it_returns_404_for_other_tenants_ids(name, role, tenant_a, tenant_b):
    entry = TENANT_SCOPED_URLS[name]
    client = client_for(tenant_a, role)
    url = reverse(name, kwargs=entry.build_kwargs(tenant_b))
    before = snapshot(tenant_b)

    for method in entry.methods:
        response = getattr(client, method)(url, entry.data)
        assert response.status_code == 404, f"{method.upper()} {url} as {role}"

    assert snapshot(tenant_b) == before


@pytest.mark.parametrize("name", sorted(TENANT_SCOPED_URLS))
def test_it_returns_404_for_missing_ids(name, tenant_a, tenant_b):
    """A missing id gets the same response as another tenant's id."""
    entry = TENANT_SCOPED_URLS[name]
    client = client_for(tenant_a, Role.OWNER)
    kwargs = entry.build_kwargs(tenant_b)
    Tenant.objects.filter(pk=tenant_b.pk).delete()

    for method in entry.methods:
        response = getattr(client, method)(reverse(name, kwargs=kwargs), entry.data)
        assert response.status_code == 404, f"{method.upper()} {name}"


@pytest.mark.parametrize("name", sorted(SESSION_TENANT_URLS))
def test_it_ignores_tenant_ids_in_requests(name, tenant_a, tenant_b):
    """A tenant id in the query string or the body never selects the tenant acted on."""
    entry = SESSION_TENANT_URLS[name]
    client = client_for(tenant_a, Role.OWNER)
    other_id = str(tenant_b.public_id)
    url = reverse(name) + f"?tenant={other_id}&tenant_id={other_id}"
    data = {**entry.build_data(tenant_a, tenant_b), "tenant": other_id, "tenant_id": other_id}
    before = snapshot(tenant_b)

    for method in entry.methods:
        response = getattr(client, method)(url, data)
        assert response.status_code < 500, f"{method.upper()} {url}"

    assert snapshot(tenant_b) == before
