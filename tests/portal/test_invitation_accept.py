import time

from django.core import signing
from django.urls import reverse
from django.utils import timezone

from tenants import invitations
from tenants.access import SESSION_TENANT_KEY
from tenants.models import Membership
from tests.factories import audit_events, expired, login, make_invitation, make_user


def url(invitation):
    return reverse("invitation_accept", kwargs={"token": invitations.make_token(invitation)})


def test_it_works(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com", role="admin")
    user = make_user("New@Example.com")
    login(client, user)

    response = client.post(url(invitation))

    assert response.status_code == 302
    assert response.url == reverse("index")
    membership = Membership.objects.get(tenant=owner.tenant, user=user)
    assert membership.role == "admin"
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    assert invitation.accepted_at is not None
    assert client.session[SESSION_TENANT_KEY] == str(owner.tenant.public_id)

    event = audit_events(owner.tenant, "invitation.accepted")[-1]
    assert event.actor_id == str(user.pk)
    assert event.details == {"email": "new@example.com", "role": "admin"}


def test_it_requires_login(client, owner):
    invitation = make_invitation(owner.tenant)

    response = client.post(url(invitation))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_it_rejects_reused_link(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    login(client, make_user("new@example.com"))
    client.post(url(invitation))

    response = client.post(url(invitation))

    assert response.status_code == 410
    assert b"Invitation already used" in response.content
    assert b"each link works once" in response.content
    assert len(audit_events(owner.tenant, "invitation.accepted")) == 1


def test_it_rejects_expired_invitation(client, owner):
    invitation = expired(make_invitation(owner.tenant, email="new@example.com"))
    user = make_user("new@example.com")
    login(client, user)

    response = client.post(url(invitation))

    assert response.status_code == 410
    assert b"Invitation expired" in response.content
    assert b"Ask an admin of the tenant to send you a new one." in response.content
    assert not Membership.objects.filter(user=user, tenant=owner.tenant).exists()


class EightDaysAgoSigner(signing.TimestampSigner):
    def timestamp(self):
        return signing.b62_encode(int(time.time()) - 8 * 24 * 3600)


def test_it_rejects_link_older_than_max_age(client, owner):
    """The signature's age limit applies even when the row's expires_at was moved."""
    invitation = make_invitation(owner.tenant, email="new@example.com")
    login(client, make_user("new@example.com"))
    token = EightDaysAgoSigner(salt=invitations.SALT).sign_object(str(invitation.public_id))

    response = client.post(reverse("invitation_accept", kwargs={"token": token}))

    assert response.status_code == 410
    assert b"Invitation expired" in response.content
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_it_rejects_wrong_email(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    user = make_user("someone-else@example.com")
    login(client, user)

    response = client.post(url(invitation))

    assert response.status_code == 403
    assert b"This invitation is for new@example.com" in response.content
    assert b"signed in as someone-else@example.com" in response.content
    assert not Membership.objects.filter(user=user, tenant=owner.tenant).exists()


def test_it_rejects_unverified_matching_email(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    user = make_user("new@example.com", verified=False)
    login(client, user)

    response = client.post(url(invitation))

    assert response.status_code == 403
    assert not Membership.objects.filter(user=user, tenant=owner.tenant).exists()


def test_it_rejects_revoked_invitation(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com", revoked_at=timezone.now())
    login(client, make_user("new@example.com"))

    response = client.post(url(invitation))

    assert response.status_code == 410
    assert b"Invitation revoked" in response.content


def test_it_rejects_forged_token(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    login(client, make_user("new@example.com"))
    token = invitations.make_token(invitation)[:-2] + "xx"

    response = client.post(reverse("invitation_accept", kwargs={"token": token}))

    assert response.status_code == 404
    assert b"Invitation link not valid" in response.content


def test_it_rejects_existing_member(client, owner, member):
    invitation = make_invitation(owner.tenant, email="member@example.com")
    login(client, member.user)

    response = client.post(url(invitation))

    assert response.status_code == 409
    assert b"You are already a member of Acme." in response.content
    assert Membership.objects.get(pk=member.pk).role == "member"


def test_it_rejects_get(client, owner):
    invitation = make_invitation(owner.tenant)
    login(client, owner.user)

    assert client.get(url(invitation)).status_code == 405
