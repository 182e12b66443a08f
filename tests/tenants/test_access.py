import time

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from tenants import invitations
from tenants.access import (
    SESSION_TENANT_KEY,
    access_invitation,
    access_object,
    current_membership,
    login_is_stale,
)
from tenants.actions import InvitationRejected
from tenants.models import Invitation, Membership
from tests.factories import make_invitation, make_membership


def request_for(user, tenant=None, records=None):
    request = RequestFactory().get("/")
    request.user = user
    request.session = SessionStore()
    if tenant is not None:
        request.session[SESSION_TENANT_KEY] = str(tenant.public_id)
    if records is not None:
        request.session["account_authentication_methods"] = records
        request.session["account_authentication_methods_user"] = str(user.pk)
    return request


def test_it_uses_session_tenant(owner, outsider):
    joined = make_membership(outsider.tenant, user=owner.user)

    membership = current_membership(request_for(owner.user, outsider.tenant))

    assert membership == joined


def test_it_falls_back_to_oldest_membership(owner, outsider):
    request = request_for(owner.user, outsider.tenant)

    membership = current_membership(request)

    assert membership == owner
    assert request.tenant == owner.tenant
    assert request.session[SESSION_TENANT_KEY] == str(owner.tenant.public_id)


def test_it_ignores_damaged_session_value(owner):
    request = request_for(owner.user)
    request.session[SESSION_TENANT_KEY] = "not-a-uuid"

    assert current_membership(request) == owner


def test_it_returns_own_object(owner, member):
    found = access_object(
        request_for(owner.user), Membership, member.public_id, permission="member.manage"
    )

    assert found == member


def test_it_raises_404_for_other_tenant(owner, outsider):
    with pytest.raises(Http404):
        access_object(
            request_for(outsider.user), Membership, owner.public_id, permission="member.view"
        )


def test_it_raises_404_before_403(readonly_member, outsider):
    """A role too low for the action still cannot tell foreign ids from missing ones."""
    with pytest.raises(Http404):
        access_object(
            request_for(readonly_member.user),
            Membership,
            outsider.public_id,
            permission="member.manage",
        )


def test_it_raises_403_for_low_role(readonly_member, member):
    with pytest.raises(PermissionDenied):
        access_object(
            request_for(readonly_member.user),
            Membership,
            member.public_id,
            permission="member.manage",
        )


def test_it_reads_invitation_from_token(owner):
    invitation = make_invitation(owner.tenant)

    assert access_invitation(invitations.make_token(invitation)) == invitation


def test_it_rejects_token_of_deleted_invitation(owner):
    invitation = make_invitation(owner.tenant)
    token = invitations.make_token(invitation)
    Invitation.objects.filter(pk=invitation.pk).delete()

    with pytest.raises(InvitationRejected) as rejection:
        access_invitation(token)
    assert rejection.value.code == "invalid"


def test_it_treats_recent_login_as_fresh(owner):
    records = [{"method": "password", "at": time.time() - 60}]

    assert login_is_stale(request_for(owner.user, records=records)) is False


def test_it_treats_old_login_as_stale(owner):
    records = [{"method": "password", "at": time.time() - 901}]

    assert login_is_stale(request_for(owner.user, records=records)) is True


def test_it_treats_missing_records_as_stale(owner):
    assert login_is_stale(request_for(owner.user)) is True
