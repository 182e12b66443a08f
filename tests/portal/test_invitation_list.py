from django.urls import reverse
from django.utils import timezone

from tests.factories import login, make_invitation

URL = reverse("invitation_list")


def test_it_works(client, owner):
    make_invitation(owner.tenant, email="pending@example.com")
    make_invitation(owner.tenant, email="revoked@example.com", revoked_at=timezone.now())
    login(client, owner.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert b"pending@example.com" in response.content
    assert b"revoked@example.com" not in response.content
    assert b"expires after 7 days" in response.content


def test_it_requires_login(client):
    assert client.get(URL).status_code == 302


def test_it_shows_outsider_only_own_tenant(client, owner, outsider):
    make_invitation(owner.tenant, email="pending@example.com")
    login(client, outsider.user)

    response = client.get(URL)

    assert b"pending@example.com" not in response.content


def test_it_forbids_readonly_member(client, readonly_member):
    login(client, readonly_member.user)

    assert client.get(URL).status_code == 403


def test_it_forbids_member(client, member):
    login(client, member.user)

    assert client.get(URL).status_code == 403


def test_it_rejects_post(client, owner):
    login(client, owner.user)

    assert client.post(URL).status_code == 405
