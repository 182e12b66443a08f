"""Changes to tenants, memberships and invitations.

Each `do_*` writes its audit event in the same transaction as the change. Each `check_*` first
checks the actor's role, then calls its `do_*`.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from tenants import invitations
from tenants.audit import record_event
from tenants.audit_chain import audit_maintenance
from tenants.models import AuditEvent, Invitation, Membership, Tenant
from tenants.roles import has_permission

logger = logging.getLogger(__name__)

Role = Membership.Role

ERROR_MESSAGES = {
    "last_owner": (
        "A tenant needs at least one owner. Make another member an owner first, "
        "or delete the tenant."
    ),
    "already_member": "{email} is already a member of this tenant.",
    "invitation_pending": (
        "An invitation to {email} is already pending. Revoke it to send a new one."
    ),
    "invitation_not_pending": "This invitation was already accepted or revoked.",
}


class TenantError(Exception):
    """A change that the tenant's rules forbid. `message` is written for the user."""

    def __init__(self, code, **params):
        self.code = code
        self.message = ERROR_MESSAGES[code].format(**params)
        super().__init__(self.message)


class InvitationRejected(Exception):
    """An invitation link that cannot be used. `code` selects the page that explains why."""

    def __init__(self, code, invitation=None):
        self.code = code
        self.invitation = invitation
        super().__init__(code)


# --- Tenants ----------------------------------------------------------------------------------


def do_create_tenant(name, owner, *, request=None):
    """Create a tenant named `name` with `owner` as its only owner, and return it."""
    with transaction.atomic():
        tenant = Tenant.objects.create(name=name.strip()[:100])
        Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)

        _record(tenant, "tenant.created", owner, request, tenant, details={"name": tenant.name})
    return tenant


def do_rename_tenant(tenant, name, *, actor, request=None):
    old_name = tenant.name
    with transaction.atomic():
        tenant.name = name.strip()
        tenant.save(update_fields=["name"])

        details = {"old": old_name, "new": tenant.name}
        _record(tenant, "tenant.renamed", actor, request, tenant, details=details)


def do_delete_tenant(tenant, *, actor, request=None):
    """Delete `tenant` and, through foreign-key cascades, every row it owns.

    The tenant's audit log is deleted with it, so the deletion is written to the application
    log instead. Apps that keep tenant data outside the database (the vault's keyset) hook in
    through their model's `on_delete=CASCADE` or a `post_delete` signal.
    """
    tenant_id = tenant.public_id
    # A database trigger makes audit rows append-only, so the cascade runs inside
    # audit_maintenance(), which allows deleting them for this transaction only.
    with audit_maintenance():
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        tenant.delete()

    logger.info(
        "[tenant=%s] tenant deleted by user=%s",
        tenant_id,
        actor.pk,
        extra={"tenant": str(tenant_id), "user": actor.pk},
    )


# --- Members ----------------------------------------------------------------------------------


def check_change_role(actor, target, new_role, *, request=None):
    """Change `target`'s role to `new_role` on behalf of the membership `actor`.

    Raises PermissionDenied when an owner's role is involved and `actor` is not an owner, and
    TenantError("last_owner") when the change would leave the tenant without an owner.
    """
    if Role.OWNER in (target.role, new_role):
        _require(actor, "owner.manage", "Only owners can grant or change the owner role.")
    do_change_role(target, new_role, actor=actor.user, request=request)


def do_change_role(target, new_role, *, actor, request=None):
    with transaction.atomic():
        target = _lock_membership(target)
        old_role = target.role
        if old_role == new_role:
            return

        if old_role == Role.OWNER:
            _reject_if_last_owner(target)
        target.role = new_role
        target.save(update_fields=["role"])

        details = {"member": target.user.email, "old": old_role, "new": new_role}
        _record(target.tenant, "member.role_changed", actor, request, target, details=details)


def check_remove_member(actor, target, *, request=None):
    """Remove `target` from its tenant on behalf of `actor`, raising as `check_change_role` does."""
    if target.role == Role.OWNER:
        _require(actor, "owner.manage", "Only owners can remove an owner.")
    do_remove_member(target, actor=actor.user, request=request)


def do_remove_member(target, *, actor, request=None):
    with transaction.atomic():
        target = _lock_membership(target)
        if target.role == Role.OWNER:
            _reject_if_last_owner(target)
        target.delete()

        details = {"member": target.user.email, "role": target.role}
        _record(target.tenant, "member.removed", actor, request, target, details=details)


def do_leave_tenant(membership, *, request=None):
    """Remove the user's own `membership`, raising TenantError("last_owner") for the last owner."""
    with transaction.atomic():
        membership = _lock_membership(membership)
        if membership.role == Role.OWNER:
            _reject_if_last_owner(membership)
        membership.delete()

        details = {"role": membership.role}
        _record(membership.tenant, "member.left", membership.user, request, membership, details)


# --- Invitations ------------------------------------------------------------------------------


def check_create_invitation(actor, email, role, *, request=None):
    """Invite `email` to `actor`'s tenant with `role`, send the link, and return the invitation.

    Raises PermissionDenied for an owner invitation from a non-owner, and TenantError when the
    address is already a member or already has a pending, unexpired invitation.
    """
    if role == Role.OWNER:
        _require(actor, "owner.manage", "Only owners can invite owners.")

    email = email.strip().lower()
    tenant = actor.tenant
    if Membership.objects.for_tenant(tenant).filter(user__email__iexact=email).exists():
        raise TenantError("already_member", email=email)
    pending = Invitation.objects.for_tenant(tenant).filter(
        email=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )
    if pending.exists():
        raise TenantError("invitation_pending", email=email)

    return do_create_invitation(tenant, email, role, actor=actor.user, request=request)


def do_create_invitation(tenant, email, role, *, actor, request=None):
    with transaction.atomic():
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=email,
            role=role,
            invited_by=actor,
            expires_at=invitations.expiry_from(timezone.now()),
        )

        details = {"email": email, "role": role}
        _record(tenant, "invitation.created", actor, request, invitation, details=details)

        transaction.on_commit(lambda: _send_invitation_email(invitation, actor))
    return invitation


def check_revoke_invitation(actor, invitation, *, request=None):
    if invitation.role == Role.OWNER:
        _require(actor, "owner.manage", "Only owners can revoke an owner invitation.")
    do_revoke_invitation(invitation, actor=actor.user, request=request)


def do_revoke_invitation(invitation, *, actor, request=None):
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_pending:
            raise TenantError("invitation_not_pending")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])

        details = {"email": invitation.email, "role": invitation.role}
        _record(invitation.tenant, "invitation.revoked", actor, request, invitation, details)


def check_invitation_usable(invitation, user=None):
    """Raise InvitationRejected when `invitation` cannot be accepted (by `user`, if given).

    Codes: "revoked", "used", "expired", "wrong_email" (none of the user's verified addresses
    is the invited one) and "already_member".
    """
    if invitation.revoked_at is not None:
        raise InvitationRejected("revoked", invitation)
    if invitation.accepted_at is not None:
        raise InvitationRejected("used", invitation)
    if invitation.is_expired(timezone.now()):
        raise InvitationRejected("expired", invitation)
    if user is None:
        return

    if not _has_verified_email(user, invitation.email):
        raise InvitationRejected("wrong_email", invitation)
    if Membership.objects.for_tenant(invitation.tenant).filter(user=user).exists():
        raise InvitationRejected("already_member", invitation)


def do_accept_invitation(invitation, user, *, request=None):
    """Add `user` to the invitation's tenant with its role and return the new membership.

    Raises InvitationRejected (see `check_invitation_usable`). The invitation row is locked, so
    two concurrent accepts of one link create one membership.
    """
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        check_invitation_usable(invitation, user)

        membership = Membership.objects.create(
            tenant=invitation.tenant, user=user, role=invitation.role
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])

        details = {"email": invitation.email, "role": invitation.role}
        _record(invitation.tenant, "invitation.accepted", user, request, invitation, details)
    return membership


# --- Helpers ----------------------------------------------------------------------------------


def _require(actor, permission, message):
    if not has_permission(actor.role, permission):
        raise PermissionDenied(message)


def _lock_membership(membership):
    return (
        Membership.objects.select_for_update()
        .select_related("tenant", "user")
        .get(pk=membership.pk)
    )


def _reject_if_last_owner(membership):
    # Locking every owner row makes two owners who demote each other at the same moment run
    # one after the other, so the second finds only one owner left.
    owners = Membership.objects.select_for_update().filter(
        tenant_id=membership.tenant_id, role=Role.OWNER
    )
    if len(owners) <= 1:
        raise TenantError("last_owner")


def _has_verified_email(user, email):
    from allauth.account.models import EmailAddress

    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


def _send_invitation_email(invitation, actor):
    context = {
        "invitation": invitation,
        "inviter": actor.email if actor else "",
        "url": invitations.accept_url(invitation),
        "max_age_days": invitations.max_age_days(),
    }
    subject = f"Invitation to join {invitation.tenant.name} on the connector portal"
    body = render_to_string("tenants/email/invitation.txt", context)
    send_mail(subject, body, None, [invitation.email])


def _record(tenant, action, user, request, target, details=None):
    record_event(
        tenant,
        action,
        actor_type=AuditEvent.ActorType.USER,
        actor_id=user.pk if user else "",
        actor_label=user.email if user else "",
        target_type=target._meta.model_name,
        target_id=target.public_id,
        details=details or {},
        request=request,
    )
