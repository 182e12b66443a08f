import pytest
from django.core.exceptions import PermissionDenied

from tenants.actions import (
    InvitationRejected,
    TenantError,
    check_change_role,
    do_accept_invitation,
    do_change_role,
    do_create_tenant,
    do_delete_tenant,
    do_leave_tenant,
    do_remove_member,
)
from tenants.models import AuditEvent, Invitation, Membership, Tenant
from tests.factories import audit_events, expired, make_invitation, make_user

Role = Membership.Role


def test_it_creates_tenant_with_owner(make_user):
    user = make_user("jane@example.com")

    tenant = do_create_tenant("  Jane's shop ", user)

    assert tenant.name == "Jane's shop"
    membership = Membership.objects.get(tenant=tenant)
    assert (membership.user, membership.role) == (user, Role.OWNER)
    event = audit_events(tenant, "tenant.created")[-1]
    assert event.actor_type == AuditEvent.ActorType.USER
    assert event.actor_label == "jane@example.com"


def test_it_deletes_tenant_rows(owner, member, outsider):
    make_invitation(owner.tenant)

    do_delete_tenant(owner.tenant, actor=owner.user)

    assert not Tenant.objects.filter(pk=owner.tenant.pk).exists()
    assert not Membership.objects.filter(tenant_id=owner.tenant.pk).exists()
    assert not Invitation.objects.filter(tenant_id=owner.tenant.pk).exists()
    assert Membership.objects.filter(pk=outsider.pk).exists()


def test_it_keeps_last_owner_on_role_change(owner):
    with pytest.raises(TenantError) as error:
        do_change_role(owner, Role.ADMIN, actor=owner.user)

    assert error.value.code == "last_owner"
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_it_skips_unchanged_role(owner, member):
    do_change_role(member, Role.MEMBER, actor=owner.user)

    assert audit_events(owner.tenant, "member.role_changed") == []


def test_it_requires_owner_to_grant_owner(admin, member):
    with pytest.raises(PermissionDenied):
        check_change_role(admin, member, Role.OWNER)

    member.refresh_from_db()
    assert member.role == Role.MEMBER


def test_it_keeps_last_owner_on_removal(owner):
    with pytest.raises(TenantError):
        do_remove_member(owner, actor=owner.user)

    assert Membership.objects.filter(pk=owner.pk).exists()


def test_it_lets_second_owner_leave(owner, make_membership):
    second = make_membership(owner.tenant, role=Role.OWNER)

    do_leave_tenant(second)

    assert not Membership.objects.filter(pk=second.pk).exists()
    assert audit_events(owner.tenant, "member.left")[-1].actor_id == str(second.user.pk)


def test_it_accepts_invitation_once(owner):
    invitation = make_invitation(owner.tenant, email="new@example.com")
    user = make_user("new@example.com")
    do_accept_invitation(invitation, user)

    with pytest.raises(InvitationRejected) as rejection:
        do_accept_invitation(invitation, user)

    assert rejection.value.code == "used"
    assert Membership.objects.filter(tenant=owner.tenant, user=user).count() == 1


def test_it_rejects_expired_invitation(owner):
    invitation = expired(make_invitation(owner.tenant, email="new@example.com"))

    with pytest.raises(InvitationRejected) as rejection:
        do_accept_invitation(invitation, make_user("new@example.com"))

    assert rejection.value.code == "expired"
    assert audit_events(owner.tenant, "invitation.accepted") == []
