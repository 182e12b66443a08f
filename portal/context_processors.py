"""Template context that the portal's layout needs on every page.

Each value is lazy, so a page that does not render the layout (a CSV export, an htmx partial)
runs no query for it.
"""

from django.utils.functional import SimpleLazyObject

from connector.models import Connection
from tenants.access import current_membership
from tenants.models import Membership


def layout(request):
    """Add `reauth_connections` (the reauthorisation banner) and `switchable_memberships`.

    `reauth_connections` lists the current tenant's connections that need reconnecting, oldest
    first; `switchable_memberships` lists the user's other tenants for the tenant switcher.
    Both are empty for an anonymous user or a user without a tenant.
    """
    return {
        "reauth_connections": SimpleLazyObject(lambda: _reauth_connections(request)),
        "switchable_memberships": SimpleLazyObject(lambda: _other_memberships(request)),
    }


def _reauth_connections(request):
    membership = _membership(request)
    if membership is None:
        return []
    return list(
        Connection.objects.for_tenant(membership.tenant)
        .filter(status=Connection.Status.NEEDS_REAUTH)
        .order_by("status_changed_at", "id")
    )


def _other_memberships(request):
    membership = _membership(request)
    if membership is None:
        return []
    return list(
        Membership.objects.filter(user=request.user)
        .exclude(pk=membership.pk)
        .select_related("tenant")
        .order_by("tenant__name", "id")
    )


def _membership(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return current_membership(request)
