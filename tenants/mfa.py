"""Which users must keep two-factor authentication on.

A tenant that stores credentials (a Keap connection, a client site) needs owners with
two-factor authentication. The apps that own those objects register a condition here, so this
module does not import them.
"""

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled

from tenants.models import Membership

_tenant_conditions = []


def register_mfa_condition(condition):
    """Add `condition(tenant) -> bool`; a tenant for which any condition is true needs MFA.

    Call it from an AppConfig.ready(), for example with a function that checks whether the
    tenant has a connection.
    """
    _tenant_conditions.append(condition)


def unregister_mfa_condition(condition):
    _tenant_conditions.remove(condition)


def tenant_requires_mfa(tenant):
    return any(condition(tenant) for condition in _tenant_conditions)


def user_has_mfa(user):
    return is_mfa_enabled(user, types=[Authenticator.Type.TOTP])


def user_must_keep_mfa(user):
    """Return whether `user` owns a tenant that requires two-factor authentication."""
    owned = Membership.objects.filter(user=user, role=Membership.Role.OWNER).select_related(
        "tenant"
    )
    return any(tenant_requires_mfa(membership.tenant) for membership in owned)


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": (
            "Two-factor authentication cannot be turned off while you own a tenant with a Keap "
            "connection or client site. Transfer ownership or remove them first."
        ),
    }

    def can_delete_authenticator(self, authenticator):
        if authenticator.type != Authenticator.Type.TOTP:
            return True
        return not user_must_keep_mfa(authenticator.user)
