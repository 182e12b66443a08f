from django import template

from tenants.access import current_membership
from tenants.roles import has_permission

register = template.Library()


@register.simple_tag(takes_context=True)
def current_tenant_membership(context):
    """Return the signed-in user's current membership, or None."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return None
    return current_membership(request)


@register.filter
def grants(membership, permission):
    """Return whether `membership`'s role grants `permission`; False for no membership."""
    return membership is not None and has_permission(membership.role, permission)
