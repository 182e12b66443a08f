"""Factories for users, tenants, memberships and invitations. Each returns a saved row."""

import datetime
import itertools
import time

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from tenants import invitations
from tenants.models import AuditEvent, Invitation, Membership, Tenant

PASSWORD = "correct horse battery staple 42"

_sequence = itertools.count(1)


def make_user(email=None, *, password=PASSWORD, verified=True):
    """Create a user who can sign in with `email` and `password` (email verified by default)."""
    email = email or f"user{next(_sequence)}@example.com"
    user = get_user_model().objects.create_user(username=email, email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
    return user


def make_tenant(name=None):
    return Tenant.objects.create(name=name or f"Tenant {next(_sequence)}")


def make_membership(tenant=None, *, role=Membership.Role.MEMBER, user=None, email=None):
    return Membership.objects.create(
        tenant=tenant or make_tenant(), user=user or make_user(email), role=role
    )


def make_invitation(tenant, *, email=None, role=Membership.Role.MEMBER, invited_by=None, **fields):
    fields.setdefault("expires_at", invitations.expiry_from(timezone.now()))
    return Invitation.objects.create(
        tenant=tenant,
        email=email or f"invitee{next(_sequence)}@example.com",
        role=role,
        invited_by=invited_by,
        **fields,
    )


def expired(invitation):
    invitation.expires_at = timezone.now() - datetime.timedelta(seconds=1)
    invitation.save(update_fields=["expires_at"])
    return invitation


def login(client, user, *, seconds_ago=0):
    """Sign `client` in as `user`, recorded as a password sign-in `seconds_ago` seconds ago.

    allauth's reauthentication reads that record, so a recent sign-in passes the password
    prompt of sensitive actions and an old one (seconds_ago > 900) triggers it.
    """
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time() - seconds_ago, "email": user.email}
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


def audit_events(tenant, action):
    """Return `tenant`'s audit events of `action`, oldest first."""
    return list(AuditEvent.objects.filter(tenant=tenant, action=action).order_by("sequence"))
