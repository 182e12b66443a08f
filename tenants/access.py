"""The only place that turns an id from a URL into an object, and the view guards around it.

The current tenant comes from the session and the user's membership, never from a form field.
Another tenant's object and a missing object both raise Http404, so a response never reveals
whether an id exists elsewhere. A role too low for the permission raises PermissionDenied (403).
"""

import time
import uuid
from functools import wraps

from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render

from tenants import invitations
from tenants.actions import InvitationRejected
from tenants.mfa import tenant_requires_mfa, user_has_mfa
from tenants.models import Invitation, Membership
from tenants.roles import has_permission

# Session key of the current tenant's public id.
SESSION_TENANT_KEY = "tenant"


def current_membership(request):
    """Set and return `request.membership` and `request.tenant` for the signed-in user.

    Uses the tenant stored in the session when the user is still a member of it, otherwise the
    user's oldest membership. Both are None for an anonymous user or a user with no tenant.
    """
    if hasattr(request, "membership"):
        return request.membership

    membership = None
    if request.user.is_authenticated:
        memberships = Membership.objects.filter(user=request.user).select_related("tenant")
        stored_id = _parse_uuid(request.session.get(SESSION_TENANT_KEY))
        if stored_id is not None:
            membership = memberships.filter(tenant__public_id=stored_id).first()
        if membership is None:
            membership = memberships.order_by("created_at", "id").first()

    _set_current(request, membership)
    return membership


def switch_tenant(request, membership):
    """Make `membership`'s tenant the current tenant of this session."""
    _set_current(request, membership)


def forget_tenant(request):
    """Drop the current tenant, for example after the user left it or deleted it."""
    request.session.pop(SESSION_TENANT_KEY, None)
    for name in ("membership", "tenant"):
        if hasattr(request, name):
            delattr(request, name)


def check_permission(request, permission):
    """Raise PermissionDenied unless the current membership grants `permission`."""
    membership = current_membership(request)
    if membership is None or not has_permission(membership.role, permission):
        raise PermissionDenied(f"Your role does not allow this ({permission}).")


def access_object(request, model, public_id, *, permission):
    """Return the current tenant's `model` row with `public_id`.

    Raises Http404 when the row is missing or belongs to another tenant, then PermissionDenied
    when the current role lacks `permission`. The lookup comes first, so a user with a low role
    cannot tell another tenant's ids from missing ones either.
    """
    membership = current_membership(request)
    if membership is None:
        raise Http404("No tenant selected.")

    obj = model.objects.for_tenant(membership.tenant).filter(public_id=public_id).first()
    if obj is None:
        raise Http404(f"No {model._meta.verbose_name} matches the given id.")

    check_permission(request, permission)
    return obj


def access_own_membership(request, tenant_public_id):
    """Return the signed-in user's membership in the tenant `tenant_public_id`, or raise 404."""
    membership = (
        Membership.objects.filter(user=request.user, tenant__public_id=tenant_public_id)
        .select_related("tenant")
        .first()
    )
    if membership is None:
        raise Http404("No tenant matches the given id.")
    return membership


def access_invitation(token):
    """Return the invitation that the signed link `token` names, in whichever tenant it is.

    Raises InvitationRejected("invalid") for a forged, damaged or unknown link and
    InvitationRejected("expired") for one older than the maximum age. Whether the invitation
    is still usable is checked by `tenants.actions.check_invitation_usable`.
    """
    try:
        public_id = invitations.read_token(token)
    except signing.SignatureExpired:
        raise InvitationRejected("expired")
    except signing.BadSignature:
        raise InvitationRejected("invalid")

    invitation = Invitation.objects.filter(public_id=public_id).select_related("tenant").first()
    if invitation is None:
        raise InvitationRejected("invalid")
    return invitation


def tenant_required(view):
    """Require a signed-in user with a current tenant; redirect to the tenant list otherwise."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        membership = current_membership(request)
        if membership is None:
            messages.info(
                request, "You belong to no tenant yet. Create one or accept an invitation."
            )
            return redirect("tenant_list")
        if owner_lacks_required_mfa(membership):
            return render(request, "portal/errors/owner_mfa_required.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def owner_lacks_required_mfa(membership):
    """Return whether an owner without two-factor authentication is using a tenant that needs it.

    Another member may add the first connection or client site, so an owner can find the tenant
    needing two-factor authentication at their next visit; the tenant's pages then stay closed
    to them until they set it up.
    """
    if membership.role != Membership.Role.OWNER or user_has_mfa(membership.user):
        return False
    return tenant_requires_mfa(membership.tenant)


def require_permission(permission):
    """Require a current tenant in which the user's role grants `permission` (else 403).

    For views without an object id. Views that take an id use `tenant_required` and pass the
    permission to `access_object`, so a missing or foreign id is a 404 for every role.
    """

    def decorator(view):
        @tenant_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            check_permission(request, permission)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def login_is_stale(request):
    """Return whether this session's newest sign-in or reauthentication is too old.

    The limit is ACCOUNT_REAUTHENTICATION_TIMEOUT seconds.
    """
    # NOTE: allauth 65.22 exposes the session's sign-in records only through this internal
    # module; an upgrade may move it, which the reauthentication tests would catch.
    records = get_authentication_records(request, request.user)
    if not records:
        return True
    newest = max(record.get("at", 0) for record in records)
    return time.time() - newest >= settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


# Decorator for sensitive actions. It redirects to allauth's password prompt when the session's
# last sign-in or reauthentication is older than ACCOUNT_REAUTHENTICATION_TIMEOUT. allauth stores
# the POST that triggered the prompt and replays it after the password is confirmed. Apply it
# after the access check (on an inner function), so that a foreign id gets 404 before any prompt.
recent_login_required = reauthentication_required(enabled=login_is_stale)


def mfa_required(view):
    """Reject users without two-factor authentication with a 403 page linking to its set-up.

    For creating Keap connections and site keys, because a tenant that stores credentials needs
    its users to sign in with a second factor.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_has_mfa(request.user):
            return render(request, "portal/errors/mfa_required.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _set_current(request, membership):
    request.membership = membership
    request.tenant = membership.tenant if membership else None
    if membership is not None:
        request.session[SESSION_TENANT_KEY] = str(membership.tenant.public_id)


def _parse_uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
