from django.urls import reverse

from tenants.models import Membership
from tests.factories import audit_events, login

Role = Membership.Role


def url(membership):
    return reverse("member_remove", kwargs={"membership_id": membership.public_id})


def exists(membership):
    return Membership.objects.filter(pk=membership.pk).exists()


def test_it_works(client, owner, member):
    login(client, owner.user)

    response = client.post(url(member))

    assert response.status_code == 302
    assert response.url == reverse("member_list")
    assert not exists(member)

    event = audit_events(owner.tenant, "member.removed")[-1]
    assert event.details == {"member": "member@example.com", "role": "member"}
    assert event.target_id == str(member.public_id)


def test_it_requires_login(client, member):
    assert client.post(url(member)).status_code == 302
    assert exists(member)


def test_it_returns_404_for_outsider(client, outsider, member):
    login(client, outsider.user)

    assert client.post(url(member)).status_code == 404
    assert exists(member)


def test_it_forbids_readonly_member(client, readonly_member, member):
    login(client, readonly_member.user)

    assert client.post(url(member)).status_code == 403
    assert exists(member)


def test_it_forbids_admin_to_remove_owner(client, owner, admin):
    login(client, admin.user)

    assert client.post(url(owner)).status_code == 403
    assert exists(owner)


def test_it_keeps_last_owner(client, owner):
    login(client, owner.user)

    response = client.post(url(owner), follow=True)

    assert b"A tenant needs at least one owner." in response.content
    assert exists(owner)


def test_it_rejects_get(client, owner, member):
    login(client, owner.user)

    assert client.get(url(member)).status_code == 405
    assert exists(member)


def test_it_asks_for_password_after_old_login(client, owner, member):
    login(client, owner.user, seconds_ago=16 * 60)

    response = client.post(url(member))

    assert response.url.startswith(reverse("account_reauthenticate"))
    assert exists(member)
