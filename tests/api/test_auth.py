"""GET /api/v1/me with good, bad, missing, revoked and expired keys, end to end over HTTP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connector import sites
from connector.actor import Actor
from connector.models import Connection
from connector.site_models import ClientSite, SiteKey
from tenants.models import AuditEvent
from tests import factories
from tests.api.conftest import bearer
from tests.connector.site_factories import add_key, make_site

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code"}


def assert_problem(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_MEMBERS <= set(body)
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == "about:blank"
    assert body["detail"].endswith(".")
    return body


def test_me_describes_site(client, site):
    response = client.get(ME, **bearer(site.raw_key))

    assert response.status_code == 200
    assert response.json() == {
        "site": {
            "id": str(site.site.public_id),
            "name": "Shop on example.com",
            "scopes": ["contacts:write", "tags:apply"],
            "status": "active",
            "requests_per_minute": 600,
        },
        "key": {"hint": site.raw_key[-4:], "expires_at": None},
        "connection": {"keap_account_name": "Sandbox account", "status": "active"},
    }
    assert site.raw_key not in response.content.decode()


def test_me_reports_connection_needing_reauth(client, site):
    Connection.objects.filter(pk=site.site.connection_id).update(
        status=Connection.Status.NEEDS_REAUTH
    )

    response = client.get(ME, **bearer(site.raw_key))

    assert response.status_code == 200
    assert response.json()["connection"]["status"] == "needs_reauth"


def test_me_without_key_is_401(client):
    response = client.get(ME)

    body = assert_problem(response, 401, "missing_key")
    assert "Authorization" in body["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "kpsk_x"])
def test_me_with_other_scheme_is_401(client, header):
    response = client.get(ME, HTTP_AUTHORIZATION=header)

    assert_problem(response, 401, "missing_key")


@pytest.mark.parametrize(
    "raw_key", ["kpsk_0123456789abcdef_" + "A" * 43, "not-a-key", "kpsk_" + "x" * 60]
)
def test_me_with_unknown_key_is_401(client, raw_key):
    response = client.get(ME, **bearer(raw_key))

    assert_problem(response, 401, "invalid_key")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert AuditEvent.objects.filter(action="site_key.rejected").count() == 0


def test_me_with_wrong_secret_is_audited(client, site, tenant):
    forged = f"kpsk_{site.site_key.lookup_id}_{'B' * 43}"

    response = client.get(ME, **bearer(forged), REMOTE_ADDR="127.0.0.9")

    assert_problem(response, 401, "invalid_key")
    event = factories.audit_events(tenant, "site_key.rejected")[0]
    assert event.outcome == AuditEvent.Outcome.DENIED
    assert event.target_id == str(site.site_key.public_id)
    assert event.details["code"] == "invalid_key"
    assert str(event.source_ip) == "127.0.0.9"
    assert forged not in str(event.details)
    assert "B" * 43 not in str(AuditEvent.objects.filter(pk=event.pk).values().get())


def test_me_with_revoked_key_is_401(client, site, tenant):
    sites.do_revoke_site_key(site.site_key, actor=Actor("system"))

    response = client.get(ME, **bearer(site.raw_key))

    assert_problem(response, 401, "revoked_key")
    assert factories.audit_events(tenant, "site_key.rejected")[0].details["code"] == "revoked_key"


def test_me_with_expired_key_is_401(client, tenant):
    created_site = make_site(tenant, expires_at=timezone.now() - timedelta(seconds=1))

    response = client.get(ME, **bearer(created_site.raw_key))

    assert_problem(response, 401, "expired_key")


def test_me_for_paused_site_is_403(client, site):
    sites.do_pause_site(site.site, actor=Actor("system"))

    response = client.get(ME, **bearer(site.raw_key))

    body = assert_problem(response, 403, "site_paused")
    assert "paused" in body["detail"]
    assert "WWW-Authenticate" not in response


def test_me_after_resume_works_again(client, site):
    sites.do_pause_site(site.site, actor=Actor("system"))
    assert client.get(ME, **bearer(site.raw_key)).status_code == 403

    sites.do_resume_site(site.site, actor=Actor("system"))

    assert client.get(ME, **bearer(site.raw_key)).status_code == 200


def test_me_for_revoked_site_is_401(client, site):
    sites.do_revoke_site(site.site, actor=Actor("system"))

    response = client.get(ME, **bearer(site.raw_key))

    assert_problem(response, 401, "site_revoked")


def test_me_for_revoked_connection_is_401(client, site):
    Connection.objects.filter(pk=site.site.connection_id).update(status=Connection.Status.REVOKED)

    response = client.get(ME, **bearer(site.raw_key))

    assert_problem(response, 401, "connection_revoked")


def test_revoking_key_rejects_very_next_request(client, site):
    assert client.get(ME, **bearer(site.raw_key)).status_code == 200

    sites.do_revoke_site_key(site.site_key, actor=Actor("system"))

    assert_problem(client.get(ME, **bearer(site.raw_key)), 401, "revoked_key")


def test_revoking_site_rejects_very_next_request(client, site):
    _, other_raw = add_key(site.site)
    assert client.get(ME, **bearer(other_raw)).status_code == 200

    sites.do_revoke_site(site.site, actor=Actor("system"))

    assert_problem(client.get(ME, **bearer(site.raw_key)), 401, "site_revoked")
    assert_problem(client.get(ME, **bearer(other_raw)), 401, "site_revoked")


def test_rotated_key_overlaps_then_expires(client, site, monkeypatch):
    issued = sites.do_rotate_site_key(
        site.site_key, overlap=timedelta(hours=1), actor=Actor("system")
    )

    assert client.get(ME, **bearer(site.raw_key)).status_code == 200
    assert client.get(ME, **bearer(issued.raw_key)).status_code == 200

    moment = timezone.now() + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    assert_problem(client.get(ME, **bearer(site.raw_key)), 401, "expired_key")
    assert client.get(ME, **bearer(issued.raw_key)).status_code == 200


def test_me_records_last_use(client, site):
    client.get(ME, **bearer(site.raw_key), REMOTE_ADDR="127.0.0.5")

    site_key = SiteKey.objects.get(pk=site.site_key.pk)
    assert site_key.last_used_at is not None
    assert site_key.last_used_ip == "127.0.0.5"


def test_me_ignores_portal_session(client, owner, site):
    """A signed-in portal user gets no API access from the session cookie alone."""
    factories.login(client, owner.user)

    response = client.get(ME)

    assert_problem(response, 401, "missing_key")


def test_other_tenants_key_sees_only_its_own_site(client, site, outsider):
    theirs = make_site(outsider.tenant, name="Globex shop")

    response = client.get(ME, **bearer(theirs.raw_key))

    assert response.json()["site"]["id"] == str(theirs.site.public_id)
    assert ClientSite.objects.get(pk=site.site.pk).name == "Shop on example.com"


def test_me_rejects_post_with_problem(site):
    from django.test import Client

    # API endpoints are exempt from Django's CSRF check because no cookie authenticates them.
    client = Client(enforce_csrf_checks=True)

    response = client.post(ME, {}, content_type="application/json", **bearer(site.raw_key))

    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
