from django.urls import reverse
from django.utils import timezone

from tenants.models import Invitation
from tests.factories import audit_events, login, make_invitation


def url(invitation):
    return reverse("invitation_revoke", kwargs={"invitation_id": invitation.public_id})


def revoked_at(invitation):
    return Invitation.objects.get(pk=invitation.pk).revoked_at


def test_it_works(client, owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    login(client, owner.user)

    response = client.post(url(invitation))

    assert response.status_code == 302
    assert response.url == reverse("invitation_list")
    assert revoked_at(invitation) is not None

    event = audit_events(owner.tenant, "invitation.revoked")[-1]
    assert event.details == {"email": "new@example.com", "role": "member"}
    assert event.target_id == str(invitation.public_id)


def test_it_requires_login(client, owner):
    invitation = make_invitation(owner.tenant)

    assert client.post(url(invitation)).status_code == 302
    assert revoked_at(invitation) is None


def test_it_returns_404_for_outsider(client, owner, outsider):
    invitation = make_invitation(owner.tenant)
    login(client, outsider.user)

    assert client.post(url(invitation)).status_code == 404
    assert revoked_at(invitation) is None


def test_it_forbids_readonly_member(client, owner, readonly_member):
    invitation = make_invitation(owner.tenant)
    login(client, readonly_member.user)

    assert client.post(url(invitation)).status_code == 403
    assert revoked_at(invitation) is None


def test_it_forbids_admin_to_revoke_owner_invitation(client, owner, admin):
    invitation = make_invitation(owner.tenant, role="owner")
    login(client, admin.user)

    assert client.post(url(invitation)).status_code == 403
    assert revoked_at(invitation) is None


def test_it_rejects_accepted_invitation(client, owner):
    invitation = make_invitation(owner.tenant, accepted_at=timezone.now())
    login(client, owner.user)

    response = client.post(url(invitation), follow=True)

    assert b"This invitation was already accepted or revoked." in response.content
    assert revoked_at(invitation) is None
    assert audit_events(owner.tenant, "invitation.revoked") == []


def test_it_rejects_get(client, owner):
    invitation = make_invitation(owner.tenant)
    login(client, owner.user)

    assert client.get(url(invitation)).status_code == 405
