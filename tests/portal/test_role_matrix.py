"""Each role against each permission: allowed gives success, anything else 403."""

import pytest
from django.test import Client
from django.urls import reverse

from tenants.models import Membership
from tenants.roles import PERMISSIONS, ROLE_ORDER, has_permission
from tests import factories

Role = Membership.Role


def client_with_role(tenant, role):
    membership = factories.make_membership(tenant, role=role)
    return factories.login(Client(), membership.user), membership


@pytest.mark.urls("tests.portal.urls_for_tests")
@pytest.mark.parametrize("role", ROLE_ORDER)
@pytest.mark.parametrize("permission", sorted(PERMISSIONS))
def test_it_enforces_permission_table(permission, role, tenant):
    client, _ = client_with_role(tenant, role)

    response = client.get(f"/test-only/permission/{permission}/")

    expected = 200 if has_permission(role, permission) else 403
    assert response.status_code == expected


# The portal's own views: the permission each needs, and how to call it with valid input.
def _get(name):
    return lambda client, tenant: client.get(reverse(name))


def _post(name, data=None, build_kwargs=None):
    def call(client, tenant):
        kwargs = build_kwargs(tenant) if build_kwargs else {}
        return client.post(reverse(name, kwargs=kwargs), data or {})

    return call


def _member_id(tenant):
    return {"membership_id": factories.make_membership(tenant, role=Role.MEMBER).public_id}


def _invitation_id(tenant):
    return {"invitation_id": factories.make_invitation(tenant).public_id}


VIEW_CALLS = {
    "member_list": ("member.view", _get("member_list")),
    "member_leave": ("tenant.view", _post("member_leave")),
    "tenant_settings": ("tenant.manage", _get("tenant_settings")),
    "tenant_rename": ("tenant.manage", _post("tenant_rename", {"name": "Renamed"})),
    "tenant_delete": ("tenant.delete", _post("tenant_delete", {"name": "Acme"})),
    "member_change_role": (
        "member.manage",
        _post("member_change_role", {"role": "viewer"}, _member_id),
    ),
    "member_remove": ("member.manage", _post("member_remove", build_kwargs=_member_id)),
    "invitation_list": ("member.manage", _get("invitation_list")),
    "invitation_create": (
        "member.manage",
        _post("invitation_create", {"email": "new@example.com", "role": "member"}),
    ),
    "invitation_revoke": ("member.manage", _post("invitation_revoke", None, _invitation_id)),
}


@pytest.mark.parametrize("role", ROLE_ORDER)
@pytest.mark.parametrize("name", sorted(VIEW_CALLS))
def test_it_enforces_view_permissions(name, role, tenant, owner):
    permission, call = VIEW_CALLS[name]
    client, _ = client_with_role(tenant, role)

    response = call(client, tenant)

    if has_permission(role, permission):
        assert response.status_code in (200, 302), response.status_code
    else:
        assert response.status_code == 403
