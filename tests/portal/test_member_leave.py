from django.urls import reverse

from tenants.models import Membership
from tests.factories import audit_events, login

URL = reverse("member_leave")


def exists(membership):
    return Membership.objects.filter(pk=membership.pk).exists()


def test_it_works(client, owner, readonly_member):
    login(client, readonly_member.user)

    response = client.post(URL)

    assert response.status_code == 302
    assert response.url == reverse("tenant_list")
    assert not exists(readonly_member)
    event = audit_events(owner.tenant, "member.left")[-1]
    assert event.actor_id == str(readonly_member.user.pk)
    assert event.details == {"role": "viewer"}


def test_it_requires_login(client):
    response = client.post(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_leaves_only_current_tenant(client, owner, outsider, make_membership):
    joined = make_membership(owner.tenant, user=outsider.user)
    login(client, outsider.user)

    client.post(URL, {"tenant": str(owner.tenant.public_id)})

    # The outsider's current tenant is the oldest membership, Globex, where they are the only
    # owner, so nothing changes.
    assert exists(joined)
    assert exists(outsider)


def test_it_keeps_last_owner(client, owner, member):
    login(client, owner.user)

    response = client.post(URL, follow=True)

    assert b"A tenant needs at least one owner." in response.content
    assert exists(owner)
    assert audit_events(owner.tenant, "member.left") == []


def test_it_rejects_get(client, member):
    login(client, member.user)

    assert client.get(URL).status_code == 405
