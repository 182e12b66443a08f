"""Owners of a tenant that holds a connection must have two-factor authentication on."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests import factories
from tests.connector.factories import make_connection

pytestmark = pytest.mark.django_db


def enable_totp(user):
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})


def test_it_closes_tenant_pages_to_owner_without_mfa(client, owner):
    make_connection(owner.tenant)
    factories.login(client, owner.user)

    response = client.get(reverse("connection_list"))

    assert response.status_code == 403
    assert "its owners must sign in with two-factor authentication" in response.content.decode()
    assert reverse("mfa_activate_totp") in response.content.decode()


def test_it_opens_pages_once_owner_has_mfa(client, owner):
    make_connection(owner.tenant)
    enable_totp(owner.user)
    factories.login(client, owner.user)

    assert client.get(reverse("connection_list")).status_code == 200


def test_it_leaves_tenant_without_connection_open(client, owner):
    factories.login(client, owner.user)

    assert client.get(reverse("connection_list")).status_code == 200


def test_it_does_not_require_mfa_of_viewer(client, owner, readonly_member):
    make_connection(owner.tenant)
    factories.login(client, readonly_member.user)

    assert client.get(reverse("connection_list")).status_code == 200


def test_it_keeps_mfa_setup_reachable(client, owner):
    make_connection(owner.tenant)
    factories.login(client, owner.user)

    response = client.get(reverse("mfa_activate_totp"), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [] or "reauthenticate" in response.redirect_chain[-1][0]
