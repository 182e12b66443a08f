"""Signed invitation links.

A link carries the invitation's public id signed with SECRET_KEY and a timestamp, so it cannot
be forged or guessed from the id shown to admins. Expiry is checked against the stored
`expires_at`; the signature's own age limit is a second check in case that row was edited.
"""

import datetime
import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "tenants.invitation"


def max_age_days():
    """Days an invitation stays valid; setting INVITATION_MAX_AGE_DAYS, 7 by default."""
    return getattr(settings, "INVITATION_MAX_AGE_DAYS", 7)


def expiry_from(now):
    return now + datetime.timedelta(days=max_age_days())


def make_token(invitation):
    return signing.dumps(str(invitation.public_id), salt=SALT)


def read_token(token):
    """Return the public id in `token`.

    Raises signing.SignatureExpired for a link older than the maximum age and
    signing.BadSignature (its parent class) for a forged or damaged one.
    """
    max_age = datetime.timedelta(days=max_age_days())
    value = signing.loads(token, salt=SALT, max_age=max_age)
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        raise signing.BadSignature(f"Invalid invitation id {value!r} in a signed link.")


def accept_url(invitation):
    path = reverse("invitation_detail", kwargs={"token": make_token(invitation)})
    return settings.PORTAL_BASE_URL.rstrip("/") + path
