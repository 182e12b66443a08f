from django.urls import reverse

from tenants.access import SESSION_TENANT_KEY
from tenants.models import Membership, Tenant
from tests.factories import audit_events, login

URL = reverse("tenant_create")


def test_it_works(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "Second"})

    assert response.status_code == 302
    tenant = Tenant.objects.get(name="Second")
    assert Membership.objects.get(tenant=tenant).user == owner.user
    assert Membership.objects.get(tenant=tenant).role == "owner"
    assert client.session[SESSION_TENANT_KEY] == str(tenant.public_id)

    event = audit_events(tenant, "tenant.created")[-1]
    assert event.actor_id == str(owner.user.pk)
    assert event.details == {"name": "Second"}


def test_it_requires_login(client):
    client.post(URL, {"name": "Second"})

    assert not Tenant.objects.filter(name="Second").exists()


def test_it_rejects_blank_name(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": ""})

    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert Tenant.objects.count() == 1


def test_it_rejects_get(client, owner):
    login(client, owner.user)

    assert client.get(URL).status_code == 405
