from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from portal.forms import InvitationForm
from tenants.access import (
    access_invitation,
    access_object,
    require_permission,
    switch_tenant,
    tenant_required,
)
from tenants.actions import (
    InvitationRejected,
    TenantError,
    check_create_invitation,
    check_invitation_usable,
    check_revoke_invitation,
    do_accept_invitation,
)
from tenants.invitations import max_age_days
from tenants.models import Invitation

# HTTP status of each rejection page.
REJECTION_STATUS = {
    "invalid": 404,
    "expired": 410,
    "used": 410,
    "revoked": 410,
    "wrong_email": 403,
    "already_member": 409,
}


@require_GET
@require_permission("member.manage")
def invitation_list(request):
    return _render_list(request, InvitationForm())


@require_POST
@require_permission("member.manage")
def invitation_create(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _render_list(request, form, status=400)

    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    try:
        check_create_invitation(request.membership, email, role, request=request)
    except TenantError as error:
        form.add_error("email", error.message)
        return _render_list(request, form, status=400)

    messages.success(request, f"Sent an invitation to {email}.")
    return redirect("invitation_list")


@require_POST
@tenant_required
def invitation_revoke(request, invitation_id):
    invitation = access_object(request, Invitation, invitation_id, permission="member.manage")

    try:
        check_revoke_invitation(request.membership, invitation, request=request)
    except TenantError as error:
        messages.error(request, error.message)
        return redirect("invitation_list")

    messages.success(request, f"Revoked the invitation to {invitation.email}.")
    return redirect("invitation_list")


@require_GET
def invitation_detail(request, token):
    """Show an invitation to its recipient, who need not be signed in to see what it offers."""
    user = request.user if request.user.is_authenticated else None
    try:
        invitation = access_invitation(token)
        check_invitation_usable(invitation, user)
    except InvitationRejected as rejection:
        return _render_rejection(request, rejection)

    ctx = {"invitation": invitation, "token": token}
    return render(request, "portal/invitations/detail.html", ctx)


@require_POST
@login_required
def invitation_accept(request, token):
    try:
        invitation = access_invitation(token)
        membership = do_accept_invitation(invitation, request.user, request=request)
    except InvitationRejected as rejection:
        return _render_rejection(request, rejection)

    switch_tenant(request, membership)
    messages.success(request, f"You joined {membership.tenant.name} as {membership.role}.")
    return redirect("index")


def _render_list(request, form, status=200):
    pending = (
        Invitation.objects.for_tenant(request.tenant)
        .filter(accepted_at=None, revoked_at=None)
        .order_by("-created_at")
    )
    ctx = {
        "invitations": pending,
        "form": form,
        "now": timezone.now(),
        "max_age_days": max_age_days(),
    }
    return render(request, "portal/invitations/list.html", ctx, status=status)


def _render_rejection(request, rejection):
    ctx = {"reason": rejection.code, "invitation": rejection.invitation}
    status = REJECTION_STATUS[rejection.code]
    return render(request, "portal/invitations/rejected.html", ctx, status=status)
