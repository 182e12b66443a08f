"""Editing a client site's name, scopes and request limit."""

import pytest
from django.urls import reverse

from connector import sites
from connector.actor import Actor
from connector.site_models import ClientSite, Consent
from tests import factories
from tests.connector.site_factories import make_site, signed_in

pytestmark = pytest.mark.django_db


def edit_url(site):
    return reverse("site_edit", args=[site.public_id])


def form_data(**overrides):
    data = {
        "name": "Shop on example.com",
        "scopes": ["contacts:read", "contacts:write"],
        "requests_per_minute": "600",
    }
    data.update(overrides)
    return data


def test_form_shows_current_values(client, owner):
    created_site = make_site(owner.tenant, name="Shop on example.com", scopes=["tags:apply"])
    signed_in(client, owner)

    response = client.get(edit_url(created_site.site))

    assert response.status_code == 200
    assert b'value="Shop on example.com"' in response.content
    assert b"Tag contacts" in response.content


def test_edit_changes_scopes_with_new_consent(client, owner):
    created_site = make_site(owner.tenant, name="Shop on example.com", scopes=["contacts:write"])
    signed_in(client, owner)

    response = client.post(edit_url(created_site.site), form_data())

    assert response.status_code == 302
    assert response.url == created_site.site.get_absolute_url()
    site = ClientSite.objects.get(pk=created_site.site.pk)
    assert site.scopes == ["contacts:read", "contacts:write"]
    consents = list(Consent.objects.filter(site=site).order_by("granted_at", "id"))
    assert [consent.kind for consent in consents] == ["granted", "changed"]
    assert consents[-1].granted_by == owner.user
    events = factories.audit_events(owner.tenant, "site.scopes_changed")
    assert len(events) == 1
    assert events[0].details["new"] == ["contacts:read", "contacts:write"]
    page = client.get(response.url)
    assert b"Saved the changes to Shop on example.com." in page.content


def test_edit_renames_and_changes_limit(client, admin):
    created_site = make_site(admin.tenant, name="Old", scopes=["contacts:read", "contacts:write"])
    signed_in(client, admin)

    client.post(edit_url(created_site.site), form_data(name="New", requests_per_minute="30"))

    site = ClientSite.objects.get(pk=created_site.site.pk)
    assert (site.name, site.requests_per_minute) == ("New", 30)
    assert len(factories.audit_events(admin.tenant, "site.updated")) == 1
    assert factories.audit_events(admin.tenant, "site.scopes_changed") == []


def test_edit_without_changes_says_so(client, owner):
    created_site = make_site(owner.tenant, name="Shop on example.com", scopes=["contacts:write"])
    signed_in(client, owner)

    response = client.post(
        edit_url(created_site.site), form_data(scopes=["contacts:write"]), follow=True
    )

    assert b"Nothing was changed." in response.content
    assert Consent.objects.filter(site=created_site.site).count() == 1


def test_edit_requires_login(client, owner):
    created_site = make_site(owner.tenant)

    response = client.post(edit_url(created_site.site), form_data())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_edit_is_404_for_outsider(client, owner, outsider):
    created_site = make_site(owner.tenant)
    signed_in(client, outsider)

    assert client.get(edit_url(created_site.site)).status_code == 404
    assert client.post(edit_url(created_site.site), form_data()).status_code == 404


def test_edit_is_403_for_read_only_member(client, readonly_member):
    created_site = make_site(readonly_member.tenant, scopes=["contacts:write"])
    signed_in(client, readonly_member)

    response = client.post(edit_url(created_site.site), form_data())

    assert response.status_code == 403
    assert ClientSite.objects.get(pk=created_site.site.pk).scopes == ["contacts:write"]


def test_edit_requires_mfa(client, owner):
    created_site = make_site(owner.tenant, scopes=["contacts:write"])
    signed_in(client, owner, mfa=False)

    response = client.post(edit_url(created_site.site), form_data())

    assert response.status_code == 403
    assert b"Two-factor authentication required" in response.content
    assert ClientSite.objects.get(pk=created_site.site.pk).scopes == ["contacts:write"]


def test_edit_requires_recent_login(client, owner):
    created_site = make_site(owner.tenant, scopes=["contacts:write"])
    signed_in(client, owner, seconds_ago=3600)

    response = client.post(edit_url(created_site.site), form_data())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))


def test_edit_rejects_unknown_scope(client, owner):
    created_site = make_site(owner.tenant, scopes=["contacts:write"])
    signed_in(client, owner)

    response = client.post(edit_url(created_site.site), form_data(scopes=["contacts:merge"]))

    assert response.status_code == 400
    assert b"contacts:merge is not one of the available choices" in response.content
    assert ClientSite.objects.get(pk=created_site.site.pk).scopes == ["contacts:write"]


def test_edit_rejects_name_of_another_site(client, owner):
    make_site(owner.tenant, name="Taken")
    created_site = make_site(owner.tenant, name="Mine")
    signed_in(client, owner)

    response = client.post(edit_url(created_site.site), form_data(name="Taken"))

    assert response.status_code == 400
    assert ClientSite.objects.get(pk=created_site.site.pk).name == "Mine"


def test_edit_of_revoked_site_is_refused(client, owner):
    created_site = make_site(owner.tenant, scopes=["contacts:write"])
    sites.do_revoke_site(created_site.site, actor=Actor("system"))
    signed_in(client, owner)

    response = client.post(edit_url(created_site.site), form_data(), follow=True)

    assert b"This site is revoked, so it cannot be changed." in response.content
    assert ClientSite.objects.get(pk=created_site.site.pk).scopes == ["contacts:write"]
