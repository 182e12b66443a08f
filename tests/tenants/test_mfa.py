"""Owners of tenants that store credentials cannot turn two-factor authentication off."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tenants.mfa import register_mfa_condition, unregister_mfa_condition
from tests.factories import PASSWORD


@pytest.fixture
def totp(owner):
    return Authenticator.objects.create(
        user=owner.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )


@pytest.fixture
def acme_needs_mfa(tenant):
    def condition(candidate):
        return candidate == tenant

    register_mfa_condition(condition)
    yield
    unregister_mfa_condition(condition)


def test_it_lets_owner_turn_off_mfa(client, owner, totp):
    client.force_login(owner.user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not Authenticator.objects.filter(pk=totp.pk).exists()


def test_it_keeps_mfa_of_owner_whose_tenant_needs_it(client, owner, totp, acme_needs_mfa):
    client.force_login(owner.user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 200
    assert b"cannot be turned off while you own a tenant" in response.content
    assert Authenticator.objects.filter(pk=totp.pk).exists()


def test_it_lets_non_owner_turn_off_mfa(client, owner, member, acme_needs_mfa):
    totp = Authenticator.objects.create(
        user=member.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    client.force_login(member.user)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})

    client.post(reverse("mfa_deactivate_totp"))

    assert not Authenticator.objects.filter(pk=totp.pk).exists()
