from django.urls import reverse

from tenants.models import AuditEvent, Tenant
from tests.factories import audit_events, login

URL = reverse("tenant_rename")


def test_it_works(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "  Acme Corp  "})

    assert response.status_code == 302
    assert response.url == reverse("tenant_settings")
    owner.tenant.refresh_from_db()
    assert owner.tenant.name == "Acme Corp"

    event = audit_events(owner.tenant, "tenant.renamed")[-1]
    assert event.details == {"old": "Acme", "new": "Acme Corp"}
    assert event.actor_type == AuditEvent.ActorType.USER
    assert event.actor_id == str(owner.user.pk)
    assert event.target_id == str(owner.tenant.public_id)


def test_it_shows_message(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "Acme Corp"}, follow=True)

    assert b"Renamed the tenant to Acme Corp." in response.content


def test_it_requires_login(client, owner):
    response = client.post(URL, {"name": "Hacked"})

    assert response.status_code == 302
    owner.tenant.refresh_from_db()
    assert owner.tenant.name == "Acme"


def test_it_renames_only_outsiders_own_tenant(client, owner, outsider):
    login(client, outsider.user)

    client.post(URL, {"name": "Renamed", "tenant": str(owner.tenant.public_id)})

    assert Tenant.objects.get(pk=owner.tenant.pk).name == "Acme"
    assert Tenant.objects.get(pk=outsider.tenant.pk).name == "Renamed"


def test_it_forbids_readonly_member(client, owner, readonly_member):
    login(client, readonly_member.user)

    response = client.post(URL, {"name": "Renamed"})

    assert response.status_code == 403
    owner.tenant.refresh_from_db()
    assert owner.tenant.name == "Acme"
    assert audit_events(owner.tenant, "tenant.renamed") == []


def test_it_rejects_blank_name(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "   "})

    assert response.status_code == 400
    assert b"This field is required." in response.content
    owner.tenant.refresh_from_db()
    assert owner.tenant.name == "Acme"
    assert audit_events(owner.tenant, "tenant.renamed") == []


def test_it_rejects_long_name(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "x" * 101})

    assert response.status_code == 400
    assert b"at most 100 characters" in response.content
