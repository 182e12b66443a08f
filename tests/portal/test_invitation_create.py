from django.core import mail
from django.urls import reverse

from tenants.models import Invitation
from tests.factories import audit_events, login, make_invitation

URL = reverse("invitation_create")


def test_it_works(client, owner, django_capture_on_commit_callbacks):
    login(client, owner.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"email": "New@Example.com", "role": "admin"})

    assert response.status_code == 302
    assert response.url == reverse("invitation_list")
    invitation = Invitation.objects.for_tenant(owner.tenant).get()
    assert invitation.email == "new@example.com"
    assert invitation.role == "admin"
    assert invitation.invited_by == owner.user

    event = audit_events(owner.tenant, "invitation.created")[-1]
    assert event.details == {"email": "new@example.com", "role": "admin"}
    assert event.target_id == str(invitation.public_id)


def test_it_sends_link(client, owner, django_capture_on_commit_callbacks):
    login(client, owner.user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"email": "new@example.com", "role": "member"})

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert "Invitation to join Acme" in message.subject
    assert "http://127.0.0.1:8000/invitations/" in message.body
    assert "expires in 7 days" in message.body


def test_it_requires_login(client, owner):
    client.post(URL, {"email": "new@example.com", "role": "member"})

    assert not Invitation.objects.exists()


def test_it_invites_to_outsiders_own_tenant(client, owner, outsider):
    login(client, outsider.user)

    client.post(URL, {"email": "new@example.com", "role": "member", "tenant": owner.tenant.pk})

    assert Invitation.objects.get().tenant == outsider.tenant


def test_it_forbids_readonly_member(client, readonly_member):
    login(client, readonly_member.user)

    response = client.post(URL, {"email": "new@example.com", "role": "member"})

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_it_forbids_admin_to_invite_owner(client, admin):
    login(client, admin.user)

    response = client.post(URL, {"email": "new@example.com", "role": "owner"})

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_it_rejects_invalid_email(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"email": "not-an-email", "role": "member"})

    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert not Invitation.objects.exists()


def test_it_rejects_unknown_role(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"email": "new@example.com", "role": "root"})

    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_it_rejects_existing_member(client, owner, member):
    login(client, owner.user)

    response = client.post(URL, {"email": "MEMBER@example.com", "role": "member"})

    assert response.status_code == 400
    assert b"member@example.com is already a member of this tenant." in response.content
    assert not Invitation.objects.exists()


def test_it_rejects_second_pending_invitation(client, owner):
    make_invitation(owner.tenant, email="new@example.com")
    login(client, owner.user)

    response = client.post(URL, {"email": "new@example.com", "role": "member"})

    assert response.status_code == 400
    assert b"already pending" in response.content
    assert Invitation.objects.count() == 1
