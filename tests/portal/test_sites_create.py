"""Creating a client site: the form, its checks and the key shown once."""

import re

import pytest
from django.urls import reverse

from connector.models import Connection
from connector.site_models import ClientSite, Consent, SiteKey
from tests import factories
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site, signed_in

pytestmark = pytest.mark.django_db

URL = "/sites/new/"
KEY_IN_PAGE = re.compile(rb'value="(kpsk_[0-9a-f]{16}_[A-Za-z0-9_-]+)"')


def form_data(connection, **overrides):
    data = {
        "name": "Shop on example.com",
        "connection": str(connection.public_id),
        "scopes": ["contacts:write", "tags:apply"],
        "requests_per_minute": "120",
        "key_expires": "",
    }
    data.update(overrides)
    return data


def test_url_is_stable():
    assert reverse("site_create") == URL


def test_form_explains_scopes_and_preselects_least(client, owner):
    make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Add and update contacts" in page
    assert "never delete or merge them" in page
    for name in ("contacts:write", "tags:apply"):
        assert re.search(rf'value="{name}"[^>]*checked', page), name
    assert not re.search(r'value="contacts:read"[^>]*checked', page)
    assert 'value="600"' in page


def test_form_asks_for_connection_first(client, owner):
    make_connection(owner.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, owner)

    response = client.get(URL)

    assert b"no active Keap connection yet" in response.content
    assert b'<form method="post" action="/sites/new/"' not in response.content


def test_create_works_and_shows_key_once(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.post(URL, form_data(connection))

    assert response.status_code == 200
    site = ClientSite.objects.get(tenant=owner.tenant)
    assert site.name == "Shop on example.com"
    assert site.connection == connection
    assert site.scopes == ["contacts:write", "tags:apply"]
    assert site.requests_per_minute == 120
    assert site.created_by == owner.user
    assert Consent.objects.get(site=site).granted_by == owner.user

    raw_key = KEY_IN_PAGE.search(response.content).group(1).decode()
    site_key = SiteKey.objects.get(site=site)
    assert site_key.hint == raw_key[-4:]
    assert "no-store" in response["Cache-Control"]
    assert b"Created site Shop on example.com." in response.content
    assert b"portal/copy-key.js" in response.content
    assert b"<script>" not in response.content

    # The key is in no later page, no session and no URL.
    assert raw_key not in str(dict(client.session))
    detail = client.get(site.get_absolute_url())
    assert raw_key.encode() not in detail.content
    assert client.get(reverse("site_list")).content.count(raw_key.encode()) == 0

    events = factories.audit_events(owner.tenant, "site.created")
    assert len(events) == 1
    assert events[0].actor_id == str(owner.user.pk)
    assert raw_key not in str(events[0].details)
    assert len(factories.audit_events(owner.tenant, "site_key.created")) == 1


def test_create_sets_key_expiry(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    client.post(URL, form_data(connection, key_expires="30"))

    site_key = SiteKey.objects.get(tenant=owner.tenant)
    remaining = site_key.expires_at - site_key.created_at
    assert 29 < remaining.total_seconds() / 86400 <= 30


def test_create_requires_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("role_fixture", ["member", "readonly_member"])
def test_create_is_403_below_admin(client, request, role_fixture):
    membership = request.getfixturevalue(role_fixture)
    connection = make_connection(membership.tenant)
    signed_in(client, membership)

    response = client.post(URL, form_data(connection))

    assert response.status_code == 403
    assert ClientSite.objects.count() == 0


def test_create_works_for_admin(client, admin):
    connection = make_connection(admin.tenant)
    signed_in(client, admin)

    response = client.post(URL, form_data(connection))

    assert response.status_code == 200
    assert ClientSite.objects.filter(tenant=admin.tenant).count() == 1


def test_create_requires_mfa(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner, mfa=False)

    response = client.post(URL, form_data(connection))

    assert response.status_code == 403
    assert b"Two-factor authentication required" in response.content
    assert ClientSite.objects.count() == 0


def test_create_requires_recent_login(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner, seconds_ago=3600)

    response = client.post(URL, form_data(connection))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert ClientSite.objects.count() == 0


def test_create_rejects_unknown_scope(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.post(URL, form_data(connection, scopes=["contacts:write", "contacts:delete"]))

    assert response.status_code == 400
    assert b"contacts:delete is not one of the available choices" in response.content
    assert ClientSite.objects.count() == 0


def test_create_rejects_no_scope(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.post(URL, form_data(connection, scopes=[]))

    assert response.status_code == 400
    assert b"Tick at least one scope." in response.content


def test_create_rejects_other_tenants_connection(client, owner, outsider):
    make_connection(owner.tenant)
    foreign = make_connection(outsider.tenant)
    signed_in(client, owner)

    response = client.post(URL, form_data(foreign))

    assert response.status_code == 400
    assert b"Pick one of the active connections listed." in response.content
    assert ClientSite.objects.count() == 0


def test_create_rejects_revoked_connection(client, owner):
    make_connection(owner.tenant)
    revoked = make_connection(owner.tenant, status=Connection.Status.REVOKED)
    signed_in(client, owner)

    response = client.post(URL, form_data(revoked))

    assert response.status_code == 400
    assert ClientSite.objects.count() == 0


@pytest.mark.parametrize("value", ["0", "10001", "many"])
def test_create_rejects_bad_request_limit(client, owner, value):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.post(URL, form_data(connection, requests_per_minute=value))

    assert response.status_code == 400
    assert ClientSite.objects.count() == 0


def test_create_rejects_taken_name(client, owner):
    connection = make_connection(owner.tenant)
    make_site(owner.tenant, name="Shop on example.com", connection=connection)
    signed_in(client, owner)

    response = client.post(URL, form_data(connection))

    assert response.status_code == 400
    assert b"Another site already has this name." in response.content
    assert ClientSite.objects.count() == 1
