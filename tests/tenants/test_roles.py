import re
from pathlib import Path

import pytest

from tenants.models import Membership
from tenants.roles import PERMISSIONS, ROLE_ORDER, has_permission

Role = Membership.Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
ROW = re.compile(r"^\| `(?P<permission>[a-z_.]+)` \| (?P<role>\w+) \|", re.MULTILINE)


def test_it_matches_docs_table():
    documented = {row["permission"]: row["role"] for row in ROW.finditer(DOC.read_text())}

    assert documented == {permission: str(role) for permission, role in PERMISSIONS.items()}


def test_it_orders_every_role():
    assert set(ROLE_ORDER) == set(Role)


@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_it_grants_higher_roles_what_lower_have(permission):
    granted = [has_permission(role, permission) for role in ROLE_ORDER]

    assert granted == sorted(granted)
    assert granted[-1] is True


def test_it_gives_viewer_read_only():
    allowed = {permission for permission in PERMISSIONS if has_permission(Role.VIEWER, permission)}

    assert allowed == {
        "tenant.view",
        "member.view",
        "connection.view",
        "site.view",
        "job.view",
        "audit.view_redacted",
    }


def test_it_keeps_owner_powers_from_admin():
    for permission in ("owner.manage", "tenant.manage", "tenant.delete"):
        assert not has_permission(Role.ADMIN, permission)


def test_it_raises_for_unknown_permission():
    with pytest.raises(KeyError):
        has_permission(Role.OWNER, "tenant.explode")
