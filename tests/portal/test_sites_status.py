"""Pausing, resuming and revoking a client site from its page."""

import pytest
from django.urls import reverse

from connector.site_models import ClientSite, SiteKey
from tests import factories
from tests.api.conftest import bearer
from tests.connector.site_factories import make_site, signed_in

pytestmark = pytest.mark.django_db


def url(name, site):
    return reverse(name, args=[site.public_id])


def test_pause_works_and_api_rejects_key(client, admin):
    created_site = make_site(admin.tenant)
    signed_in(client, admin)

    response = client.post(url("site_pause", created_site.site))

    assert response.status_code == 302
    assert response.url == created_site.site.get_absolute_url()
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.PAUSED
    assert factories.audit_events(admin.tenant, "site.paused")[0].actor_id == str(admin.user.pk)
    api = client.get("/api/v1/me", **bearer(created_site.raw_key))
    assert api.status_code == 403
    assert api.json()["code"] == "site_paused"


def test_resume_works(client, admin):
    created_site = make_site(admin.tenant, status=ClientSite.Status.PAUSED)
    signed_in(client, admin)

    response = client.post(url("site_resume", created_site.site), follow=True)

    assert b"Its keys work again." in response.content
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.ACTIVE
    assert len(factories.audit_events(admin.tenant, "site.resumed")) == 1


def test_pause_of_paused_site_changes_nothing(client, owner):
    created_site = make_site(owner.tenant, status=ClientSite.Status.PAUSED)
    signed_in(client, owner)

    response = client.post(url("site_pause", created_site.site), follow=True)

    assert b"is not active, so it was not paused" in response.content
    assert factories.audit_events(owner.tenant, "site.paused") == []


@pytest.mark.parametrize("name", ["site_pause", "site_resume"])
def test_status_change_rejects_get(client, owner, name):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    assert client.get(url(name, created_site.site)).status_code == 405


@pytest.mark.parametrize("name", ["site_pause", "site_resume", "site_revoke"])
def test_status_change_requires_login(client, owner, name):
    created_site = make_site(owner.tenant)

    response = client.post(url(name, created_site.site))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["site_pause", "site_resume", "site_revoke"])
def test_status_change_is_404_for_outsider(client, owner, outsider, name):
    created_site = make_site(owner.tenant)
    signed_in(client, outsider)

    assert client.post(url(name, created_site.site)).status_code == 404
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.ACTIVE


@pytest.mark.parametrize("role_fixture", ["member", "readonly_member"])
@pytest.mark.parametrize("name", ["site_pause", "site_resume", "site_revoke"])
def test_status_change_is_403_below_admin(client, request, role_fixture, name):
    membership = request.getfixturevalue(role_fixture)
    created_site = make_site(membership.tenant)
    signed_in(client, membership)

    assert client.post(url(name, created_site.site)).status_code == 403
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.ACTIVE


def test_revoke_asks_for_confirmation(client, owner):
    created_site = make_site(owner.tenant, name="Shop")
    signed_in(client, owner)

    response = client.get(url("site_revoke", created_site.site))

    assert response.status_code == 200
    assert b"cannot be undone" in response.content
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.ACTIVE


def test_revoke_works_and_api_rejects_key(client, owner):
    created_site = make_site(owner.tenant, name="Shop")
    signed_in(client, owner)

    response = client.post(url("site_revoke", created_site.site), follow=True)

    assert b"Revoked Shop. None of its keys work any more." in response.content
    site = ClientSite.objects.get(pk=created_site.site.pk)
    assert site.status == ClientSite.Status.REVOKED
    assert SiteKey.objects.get(pk=created_site.site_key.pk).revoked_at is not None
    assert len(factories.audit_events(owner.tenant, "site.revoked")) == 1
    api = client.get("/api/v1/me", **bearer(created_site.raw_key))
    assert api.status_code == 401
    assert api.json()["code"] == "site_revoked"


def test_revoke_twice_says_already_revoked(client, owner):
    created_site = make_site(owner.tenant, name="Shop")
    signed_in(client, owner)
    client.post(url("site_revoke", created_site.site))

    response = client.post(url("site_revoke", created_site.site), follow=True)

    assert b"Shop was already revoked." in response.content
    assert len(factories.audit_events(owner.tenant, "site.revoked")) == 1


def test_revoke_requires_recent_login(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner, seconds_ago=3600)

    response = client.post(url("site_revoke", created_site.site))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert ClientSite.objects.get(pk=created_site.site.pk).status == ClientSite.Status.ACTIVE
