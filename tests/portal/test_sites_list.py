"""The client sites page and a site's detail page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from connector.site_models import ClientSite, SiteKey
from tests.connector.site_factories import make_site, signed_in

pytestmark = pytest.mark.django_db


def test_list_works(client, owner, outsider):
    mine = make_site(owner.tenant, name="Shop on example.com")
    theirs = make_site(outsider.tenant, name="Globex shop")
    SiteKey.objects.filter(pk=mine.site_key.pk).update(last_used_at=timezone.now())
    signed_in(client, owner)

    response = client.get(reverse("site_list"))

    assert response.status_code == 200
    assert mine.site.get_absolute_url().encode() in response.content
    assert b"Shop on example.com" in response.content
    assert b"<code>contacts:write</code>" in response.content
    assert b"Sandbox account" in response.content
    assert theirs.site.get_absolute_url().encode() not in response.content
    assert reverse("site_create").encode() in response.content


def test_list_works_for_read_only_member(client, readonly_member):
    created_site = make_site(readonly_member.tenant)
    signed_in(client, readonly_member, mfa=False)

    response = client.get(reverse("site_list"))

    assert response.status_code == 200
    assert created_site.site.get_absolute_url().encode() in response.content
    assert reverse("site_create").encode() not in response.content


def test_list_requires_login(client):
    response = client.get(reverse("site_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_list_rejects_post(client, owner):
    signed_in(client, owner)

    assert client.post(reverse("site_list")).status_code == 405


def test_detail_works_for_read_only_member(client, readonly_member):
    created_site = make_site(readonly_member.tenant, scopes=["contacts:read"])
    signed_in(client, readonly_member, mfa=False)

    response = client.get(created_site.site.get_absolute_url())

    assert response.status_code == 200
    assert b"See contacts" in response.content
    assert f"kpsk_…{created_site.raw_key[-4:]}".encode() in response.content
    assert created_site.raw_key.encode() not in response.content
    assert b"Granted" in response.content
    assert (
        reverse("site_pause", args=[created_site.site.public_id]).encode() not in response.content
    )
    assert reverse("site_key_revoke", args=[created_site.site_key.public_id]).encode() not in (
        response.content
    )


def test_detail_shows_actions_to_admin(client, admin):
    created_site = make_site(admin.tenant)
    signed_in(client, admin)

    response = client.get(created_site.site.get_absolute_url())

    for name, key in [
        ("site_pause", created_site.site.public_id),
        ("site_revoke", created_site.site.public_id),
        ("site_edit", created_site.site.public_id),
        ("site_key_create", created_site.site.public_id),
        ("site_key_rotate", created_site.site_key.public_id),
        ("site_key_revoke", created_site.site_key.public_id),
    ]:
        assert reverse(name, args=[key]).encode() in response.content, name


def test_detail_of_paused_site_offers_resume(client, owner):
    created_site = make_site(owner.tenant, status=ClientSite.Status.PAUSED)
    signed_in(client, owner)

    response = client.get(created_site.site.get_absolute_url())

    assert b"site_paused" in response.content
    assert reverse("site_resume", args=[created_site.site.public_id]).encode() in response.content


def test_detail_is_404_for_outsider(client, owner, outsider):
    created_site = make_site(owner.tenant)
    signed_in(client, outsider)

    assert client.get(created_site.site.get_absolute_url()).status_code == 404


def test_detail_requires_login(client, owner):
    created_site = make_site(owner.tenant)

    response = client.get(created_site.site.get_absolute_url())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
