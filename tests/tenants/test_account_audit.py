"""Account events are written to the audit log of every tenant the user belongs to."""

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse

from tenants.models import AuditEvent
from tests.factories import PASSWORD, audit_events, login

NEW_PASSWORD = "a new long passphrase 7"


def sign_in(client, email, password=PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_it_records_login_in_every_tenant(client, owner, outsider, make_membership):
    make_membership(outsider.tenant, user=owner.user)

    sign_in(client, "owner@example.com")

    for tenant in (owner.tenant, outsider.tenant):
        event = audit_events(tenant, "login.succeeded")[-1]
        assert event.actor_id == str(owner.user.pk)
        assert event.source_ip == "127.0.0.1"


def test_it_records_failed_login(client, owner):
    sign_in(client, "owner@example.com", "wrong password")

    event = audit_events(owner.tenant, "login.failed")[-1]
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.target_id == str(owner.user.pk)
    assert "wrong password" not in str(event.details)


def test_it_skips_failed_login_for_unknown_email(client, owner):
    sign_in(client, "nobody@example.com", "wrong password")

    assert not AuditEvent.objects.filter(action="login.failed").exists()


def test_it_records_logout(client, owner):
    login(client, owner.user)

    client.post(reverse("account_logout"))

    assert len(audit_events(owner.tenant, "logout")) == 1


def test_it_records_password_change(client, owner):
    login(client, owner.user)

    client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert len(audit_events(owner.tenant, "password.changed")) == 1


def test_it_records_mfa_enabled(client, owner, django_capture_on_commit_callbacks):
    sign_in(client, "owner@example.com")
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.get(reverse("mfa_activate_totp"))
    secret = client.session["mfa.totp.secret"]
    # Zero-padded: a code such as 012345 must not lose its leading zero.
    code = format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))

    # allauth sends its signal after the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"), {"code": code})

    assert response.status_code == 302
    assert Authenticator.objects.filter(user=owner.user, type="totp").exists()
    types = [event.details["type"] for event in audit_events(owner.tenant, "mfa.enabled")]
    assert "totp" in types
