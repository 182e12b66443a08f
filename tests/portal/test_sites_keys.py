"""Creating, rotating and revoking site keys from a site's page."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connector import sites
from connector.actor import Actor
from connector.site_models import SiteKey
from tests import factories
from tests.api.conftest import bearer
from tests.connector.site_factories import make_site, signed_in

pytestmark = pytest.mark.django_db

KEY_IN_PAGE = re.compile(rb'value="(kpsk_[0-9a-f]{16}_[A-Za-z0-9_-]+)"')


def create_url(site):
    return reverse("site_key_create", args=[site.public_id])


def rotate_url(site_key):
    return reverse("site_key_rotate", args=[site_key.public_id])


def revoke_url(site_key):
    return reverse("site_key_revoke", args=[site_key.public_id])


# --- Create -----------------------------------------------------------------------------------


def test_create_key_works(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.post(create_url(created_site.site), {"expires": "90"})

    assert response.status_code == 200
    raw_key = KEY_IN_PAGE.search(response.content).group(1).decode()
    assert "no-store" in response["Cache-Control"]
    new_key = SiteKey.objects.exclude(pk=created_site.site_key.pk).get(site=created_site.site)
    assert new_key.hint == raw_key[-4:]
    assert new_key.expires_at > timezone.now() + timedelta(days=89)
    assert new_key.created_by == owner.user
    assert client.get("/api/v1/me", **bearer(raw_key)).status_code == 200
    assert client.get("/api/v1/me", **bearer(created_site.raw_key)).status_code == 200
    assert raw_key.encode() not in client.get(created_site.site.get_absolute_url()).content
    event = factories.audit_events(owner.tenant, "site_key.created")[-1]
    assert event.target_id == str(new_key.public_id)
    assert raw_key not in str(event.details)


def test_create_key_form_works(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.get(create_url(created_site.site))

    assert response.status_code == 200
    assert b"Key expires" in response.content
    assert KEY_IN_PAGE.search(response.content) is None


def test_create_key_rejects_bad_expiry(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.post(create_url(created_site.site), {"expires": "forever"})

    assert response.status_code == 400
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


def test_create_key_for_revoked_site_is_refused(client, owner):
    created_site = make_site(owner.tenant)
    sites.do_revoke_site(created_site.site, actor=Actor("system"))
    signed_in(client, owner)

    response = client.post(create_url(created_site.site), {"expires": ""}, follow=True)

    assert b"This site is revoked" in response.content
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


def test_create_key_requires_mfa(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner, mfa=False)

    response = client.post(create_url(created_site.site), {"expires": ""})

    assert response.status_code == 403
    assert b"Two-factor authentication required" in response.content
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


def test_create_key_requires_recent_login(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner, seconds_ago=3600)

    response = client.post(create_url(created_site.site), {"expires": ""})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


# --- Rotate -----------------------------------------------------------------------------------


def test_rotate_form_defaults_to_24_hours(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.get(rotate_url(created_site.site_key))

    assert response.status_code == 200
    assert re.search(rb'value="24h"[^>]*checked', response.content)


def test_rotate_works_with_overlap(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.post(rotate_url(created_site.site_key), {"overlap": "1h", "expires": ""})

    assert response.status_code == 200
    raw_key = KEY_IN_PAGE.search(response.content).group(1).decode()
    assert raw_key != created_site.raw_key
    assert b"keeps working until" in response.content
    old = SiteKey.objects.get(pk=created_site.site_key.pk)
    assert timedelta(minutes=59) < old.expires_at - timezone.now() <= timedelta(hours=1)
    assert client.get("/api/v1/me", **bearer(created_site.raw_key)).status_code == 200
    assert client.get("/api/v1/me", **bearer(raw_key)).status_code == 200
    assert len(factories.audit_events(owner.tenant, "site_key.rotated")) == 1


def test_rotate_with_zero_overlap_stops_old_key(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.post(rotate_url(created_site.site_key), {"overlap": "0", "expires": ""})

    assert b"no longer works" in response.content
    api = client.get("/api/v1/me", **bearer(created_site.raw_key))
    assert api.status_code == 401
    assert api.json()["code"] == "expired_key"


def test_rotate_rejects_unknown_overlap(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    response = client.post(rotate_url(created_site.site_key), {"overlap": "30d", "expires": ""})

    assert response.status_code == 400
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


def test_rotate_revoked_key_is_refused(client, owner):
    created_site = make_site(owner.tenant)
    sites.do_revoke_site_key(created_site.site_key, actor=Actor("system"))
    signed_in(client, owner)

    response = client.post(rotate_url(created_site.site_key), {"overlap": "0"}, follow=True)

    assert b"cannot be rotated" in response.content
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


def test_rotate_requires_mfa(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner, mfa=False)

    response = client.post(rotate_url(created_site.site_key), {"overlap": "0"})

    assert response.status_code == 403
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


# --- Revoke -----------------------------------------------------------------------------------


def test_revoke_key_works(client, admin):
    created_site = make_site(admin.tenant)
    signed_in(client, admin)

    response = client.post(revoke_url(created_site.site_key), follow=True)

    assert f"Revoked key …{created_site.site_key.hint}.".encode() in response.content
    assert SiteKey.objects.get(pk=created_site.site_key.pk).revoked_at is not None
    assert len(factories.audit_events(admin.tenant, "site_key.revoked")) == 1
    api = client.get("/api/v1/me", **bearer(created_site.raw_key))
    assert api.json()["code"] == "revoked_key"


def test_revoke_key_rejects_get(client, owner):
    created_site = make_site(owner.tenant)
    signed_in(client, owner)

    assert client.get(revoke_url(created_site.site_key)).status_code == 405


# --- Guards shared by the key pages -----------------------------------------------------------


def key_urls(created_site):
    return [
        ("get", create_url(created_site.site)),
        ("post", create_url(created_site.site)),
        ("get", rotate_url(created_site.site_key)),
        ("post", rotate_url(created_site.site_key)),
        ("post", revoke_url(created_site.site_key)),
    ]


def test_key_pages_require_login(client, owner):
    created_site = make_site(owner.tenant)

    for method, path in key_urls(created_site):
        response = getattr(client, method)(path)
        assert response.status_code == 302, f"{method} {path}"
        assert response.url.startswith(reverse("account_login"))


def test_key_pages_are_404_for_outsider(client, owner, outsider):
    created_site = make_site(owner.tenant)
    signed_in(client, outsider)

    for method, path in key_urls(created_site):
        assert getattr(client, method)(path, {"overlap": "0"}).status_code == 404, path
    assert SiteKey.objects.filter(site=created_site.site).count() == 1


@pytest.mark.parametrize("role_fixture", ["member", "readonly_member"])
def test_key_pages_are_403_below_admin(client, request, role_fixture):
    membership = request.getfixturevalue(role_fixture)
    created_site = make_site(membership.tenant)
    signed_in(client, membership)

    for method, path in key_urls(created_site):
        assert getattr(client, method)(path, {"overlap": "0"}).status_code == 403, path
    assert SiteKey.objects.filter(site=created_site.site, revoked_at__isnull=True).count() == 1
