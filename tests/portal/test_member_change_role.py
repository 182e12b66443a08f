from django.urls import reverse

from tenants.models import Membership
from tests.factories import audit_events, login

Role = Membership.Role


def url(membership):
    return reverse("member_change_role", kwargs={"membership_id": membership.public_id})


def role_of(membership):
    return Membership.objects.get(pk=membership.pk).role


def test_it_works(client, owner, member):
    login(client, owner.user)

    response = client.post(url(member), {"role": "admin"})

    assert response.status_code == 302
    assert response.url == reverse("member_list")
    assert role_of(member) == Role.ADMIN

    event = audit_events(owner.tenant, "member.role_changed")[-1]
    assert event.details == {"member": "member@example.com", "old": "member", "new": "admin"}
    assert event.actor_id == str(owner.user.pk)
    assert event.target_type == "membership"
    assert event.target_id == str(member.public_id)


def test_it_lets_admin_change_member(client, admin, member):
    login(client, admin.user)

    client.post(url(member), {"role": "viewer"})

    assert role_of(member) == Role.VIEWER


def test_it_requires_login(client, member):
    response = client.post(url(member), {"role": "admin"})

    assert response.status_code == 302
    assert role_of(member) == Role.MEMBER


def test_it_returns_404_for_outsider(client, outsider, member):
    login(client, outsider.user)

    response = client.post(url(member), {"role": "admin"})

    assert response.status_code == 404
    assert role_of(member) == Role.MEMBER


def test_it_forbids_readonly_member(client, readonly_member, member):
    login(client, readonly_member.user)

    response = client.post(url(member), {"role": "admin"})

    assert response.status_code == 403
    assert role_of(member) == Role.MEMBER


def test_it_forbids_admin_to_make_owner(client, admin, member):
    login(client, admin.user)

    response = client.post(url(member), {"role": "owner"})

    assert response.status_code == 403
    assert role_of(member) == Role.MEMBER


def test_it_forbids_admin_to_demote_owner(client, owner, admin):
    login(client, admin.user)

    response = client.post(url(owner), {"role": "viewer"})

    assert response.status_code == 403
    assert role_of(owner) == Role.OWNER


def test_it_keeps_last_owner(client, owner):
    login(client, owner.user)

    response = client.post(url(owner), {"role": "admin"}, follow=True)

    assert b"A tenant needs at least one owner." in response.content
    assert role_of(owner) == Role.OWNER
    assert audit_events(owner.tenant, "member.role_changed") == []


def test_it_lets_owner_demote_other_owner(client, owner, make_membership):
    second = make_membership(owner.tenant, role=Role.OWNER)
    login(client, owner.user)

    client.post(url(second), {"role": "member"})

    assert role_of(second) == Role.MEMBER


def test_it_rejects_unknown_role(client, owner, member):
    login(client, owner.user)

    response = client.post(url(member), {"role": "superuser"})

    assert response.status_code == 400
    assert b"Select a valid choice." in response.content
    assert role_of(member) == Role.MEMBER


def test_it_rejects_get(client, owner, member):
    login(client, owner.user)

    assert client.get(url(member)).status_code == 405


def test_it_asks_for_password_after_old_login(client, owner, member):
    login(client, owner.user, seconds_ago=16 * 60)

    response = client.post(url(member), {"role": "admin"})

    assert response.url.startswith(reverse("account_reauthenticate"))
    assert role_of(member) == Role.MEMBER


def test_it_resumes_after_reauthentication(client, owner, member):
    login(client, owner.user, seconds_ago=16 * 60)
    response = client.post(url(member), {"role": "admin"})

    client.post(response.url, {"password": "correct horse battery staple 42"})

    assert role_of(member) == Role.ADMIN


def test_it_answers_404_before_asking_for_password(client, outsider, member):
    login(client, outsider.user, seconds_ago=16 * 60)

    assert client.post(url(member), {"role": "admin"}).status_code == 404
