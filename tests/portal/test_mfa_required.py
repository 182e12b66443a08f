"""The `mfa_required` guard for creating Keap connections and site keys."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests.factories import login

pytestmark = pytest.mark.urls("tests.portal.urls_for_tests")


def enable_totp(user):
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})


def test_it_allows_user_with_totp(client, owner):
    enable_totp(owner.user)
    login(client, owner.user)

    response = client.get(reverse("test_mfa_required"))

    assert response.status_code == 200


def test_it_rejects_user_without_totp(client, owner):
    login(client, owner.user)

    response = client.get(reverse("test_mfa_required"))

    assert response.status_code == 403
    assert b"Two-factor authentication required" in response.content
    assert reverse("mfa_activate_totp").encode() in response.content


def test_it_rejects_recovery_codes_alone(client, owner):
    Authenticator.objects.create(
        user=owner.user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x"}
    )
    login(client, owner.user)

    assert client.get(reverse("test_mfa_required")).status_code == 403


def test_it_requires_login(client):
    response = client.get(reverse("test_mfa_required"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
