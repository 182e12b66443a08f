"""Roles and the permission table: which minimum role each permission needs.

docs/roles.md repeats this table for users; tests/tenants/test_roles.py checks that both agree.
"""

from tenants.models import Membership

Role = Membership.Role

# Each role has every permission of the roles below it.
ROLE_ORDER = (Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER)
ROLE_RANK = {role: rank for rank, role in enumerate(ROLE_ORDER)}

PERMISSIONS = {
    "tenant.view": Role.VIEWER,
    "member.view": Role.VIEWER,
    "connection.view": Role.VIEWER,
    "site.view": Role.VIEWER,
    "job.view": Role.VIEWER,
    # The audit log without source addresses and user agents; `audit.view` shows them too.
    "audit.view_redacted": Role.VIEWER,
    "connection.use": Role.MEMBER,
    "connection.manage": Role.ADMIN,
    "site.manage": Role.ADMIN,
    "member.manage": Role.ADMIN,
    "audit.view": Role.ADMIN,
    "owner.manage": Role.OWNER,
    "tenant.manage": Role.OWNER,
    "tenant.delete": Role.OWNER,
}


def has_permission(role, permission):
    """Return whether `role` grants `permission`; raises KeyError for an unknown permission.

    An unknown name raises instead of returning False, so a typo in a view fails loudly in
    tests rather than locking everyone out.
    """
    return ROLE_RANK[role] >= ROLE_RANK[PERMISSIONS[permission]]
