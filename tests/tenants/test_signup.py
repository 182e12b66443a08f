"""Signing up creates a tenant owned by the new user, who signs in after verifying the email."""

import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tenants.models import Membership, Tenant
from tests.factories import PASSWORD, audit_events


def sign_up(client, email):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_it_creates_tenant_with_owner(client):
    sign_up(client, "jane.doe@example.com")

    user = get_user_model().objects.get(email="jane.doe@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.tenant.name == "jane.doe"

    event = audit_events(membership.tenant, "tenant.created")[-1]
    assert event.actor_id == str(user.pk)
    assert event.details == {"name": "jane.doe"}


def test_it_requires_email_verification(client):
    response = sign_up(client, "jane@example.com")

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert len(mail.outbox) == 1
    assert "_auth_user_id" not in client.session


def test_it_signs_in_after_verification(client):
    sign_up(client, "jane@example.com")
    confirm_url = re.search(r"http://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body)[0]

    client.post(confirm_url)
    response = client.post(
        reverse("account_login"), {"login": "jane@example.com", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert client.get(reverse("index")).status_code == 200


def test_it_rejects_duplicate_email(client):
    sign_up(client, "jane@example.com")
    client.logout()

    sign_up(client, "jane@example.com")

    assert Tenant.objects.count() == 1
    assert get_user_model().objects.filter(email="jane@example.com").count() == 1


def test_it_rejects_mismatched_passwords(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "jane@example.com", "password1": PASSWORD, "password2": PASSWORD + "x"},
    )

    assert response.status_code == 200
    assert b"You must type the same password each time." in response.content
    assert not Tenant.objects.exists()
