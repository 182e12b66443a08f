from django.urls import reverse
from django.utils import timezone

from tenants import invitations
from tests.factories import expired, login, make_invitation, make_user


def url(invitation):
    return reverse("invitation_detail", kwargs={"token": invitations.make_token(invitation)})


def test_it_works(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com", role="viewer")
    login(client, make_user("new@example.com"))

    response = client.get(url(invitation))

    assert response.status_code == 200
    assert b"Join Acme" in response.content
    assert b"as viewer" in response.content
    assert b"Accept and join Acme" in response.content


def test_it_offers_sign_in_to_anonymous_visitor(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")

    response = client.get(url(invitation))

    assert response.status_code == 200
    assert b"sign up</a> as new@example.com" in response.content
    assert reverse("account_signup").encode() + b"?next=/invitations/" in response.content
    assert b"Accept and join" not in response.content


def test_it_rejects_expired_invitation(client, owner):
    invitation = expired(make_invitation(owner.tenant))

    response = client.get(url(invitation))

    assert response.status_code == 410
    assert b"Invitation expired" in response.content


def test_it_rejects_revoked_invitation(client, owner):
    invitation = make_invitation(owner.tenant, revoked_at=timezone.now())

    response = client.get(url(invitation))

    assert response.status_code == 410
    assert b"Invitation revoked" in response.content


def test_it_rejects_used_invitation(client, owner):
    invitation = make_invitation(owner.tenant, accepted_at=timezone.now())

    response = client.get(url(invitation))

    assert response.status_code == 410
    assert b"Invitation already used" in response.content


def test_it_rejects_wrong_email(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    login(client, make_user("other@example.com"))

    response = client.get(url(invitation))

    assert response.status_code == 403
    assert b"Invitation for another email address" in response.content


def test_it_rejects_damaged_link(client):
    response = client.get(reverse("invitation_detail", kwargs={"token": "not-a-token"}))

    assert response.status_code == 404
    assert b"Copy the whole link from the email" in response.content


def test_it_rejects_post(client, owner):
    invitation = make_invitation(owner.tenant)

    assert client.post(url(invitation)).status_code == 405
