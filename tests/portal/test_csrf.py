"""Every URL rejects a POST without a CSRF token, whatever the view would do with it."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import Membership
from tests import factories
from tests.tenant_scoped_urls import TENANT_SCOPED_URLS, USER_URLS
from tests.url_patterns import iter_url_entries, kwarg_names, reverse_with_samples

# The client API authenticates by bearer site key, never by the session cookie, so CSRF cannot
# apply there; tests/api checks that a signed-in portal session gets 401 from it.
ENTRIES = [entry for entry in iter_url_entries() if "api" not in entry.namespaces]


def sample_path(route):
    """Turn an unnamed pattern's route into a path, with "x" for each parameter."""
    path = re.sub(r"<[^>]+>", "x", route)
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "x", path)
    return "/" + path.replace("^", "").replace("$", "")


def build_path(entry, tenant):
    """Return a path for `entry`, naming an object of `tenant` where the registry builds one."""
    if entry.name in TENANT_SCOPED_URLS:
        return reverse(entry.name, kwargs=TENANT_SCOPED_URLS[entry.name].build_kwargs(tenant))
    if entry.name in USER_URLS:
        return reverse(entry.name, kwargs=USER_URLS[entry.name].build_kwargs(tenant))
    if entry.name:
        return reverse_with_samples(entry.name, kwarg_names(entry.name))
    return sample_path(entry.route)


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name or entry.route for entry in ENTRIES])
def test_it_rejects_post_without_csrf_token(entry):
    owner = factories.make_membership(role=Membership.Role.OWNER)
    owner.user.is_staff = owner.user.is_superuser = True
    owner.user.save()
    client = factories.login(Client(enforce_csrf_checks=True), owner.user)
    path = build_path(entry, owner.tenant)
    assert path is not None, f"No sample kwargs fit {entry.route}; extend SAMPLE_VALUES."

    response = client.post(path, {"name": "x", "role": "viewer", "email": "a@example.com"})

    assert response.status_code == 403, path
    assert b"CSRF verification failed" in response.content, path
