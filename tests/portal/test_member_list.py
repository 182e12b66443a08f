from django.urls import reverse

from tests.factories import login

URL = reverse("member_list")


def test_it_works(client, owner, member, readonly_member):
    login(client, owner.user)

    response = client.get(URL)

    assert response.status_code == 200
    for email in (b"owner@example.com", b"member@example.com", b"viewer@example.com"):
        assert email in response.content
    assert b"Change role" in response.content


def test_it_shows_readonly_member_no_controls(client, owner, readonly_member):
    login(client, readonly_member.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert b"owner@example.com" in response.content
    assert b"Change role" not in response.content


def test_it_hides_owner_controls_from_admin(client, owner, admin):
    login(client, admin.user)

    response = client.get(URL)

    assert reverse("member_change_role", args=[owner.public_id]).encode() not in response.content
    assert reverse("member_change_role", args=[admin.public_id]).encode() in response.content


def test_it_requires_login(client):
    assert client.get(URL).status_code == 302


def test_it_shows_outsider_only_own_tenant(client, owner, outsider):
    login(client, outsider.user)

    response = client.get(URL)

    assert b"outsider@example.com" in response.content
    assert b"owner@example.com" not in response.content


def test_it_rejects_post(client, owner):
    login(client, owner.user)

    assert client.post(URL).status_code == 405


def test_it_offers_last_owner_no_exit(client, owner, member):
    login(client, owner.user)

    response = client.get(URL)

    assert reverse("member_remove", args=[owner.public_id]).encode() not in response.content
    assert reverse("member_change_role", args=[owner.public_id]).encode() not in response.content
    assert reverse("member_leave").encode() not in response.content
    assert b"you cannot leave it" in response.content
    assert reverse("member_remove", args=[member.public_id]).encode() in response.content


def test_it_offers_one_of_two_owners_every_action(client, owner, member):
    member.role = member.Role.OWNER
    member.save()
    login(client, owner.user)

    response = client.get(URL)

    assert reverse("member_remove", args=[owner.public_id]).encode() in response.content
    assert reverse("member_leave").encode() in response.content
