from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.forms import RoleForm
from tenants.access import (
    access_object,
    forget_tenant,
    recent_login_required,
    require_permission,
    tenant_required,
)
from tenants.actions import TenantError, check_change_role, check_remove_member, do_leave_tenant
from tenants.models import Membership
from tenants.roles import has_permission


@require_GET
@require_permission("member.view")
def member_list(request):
    return _render_list(request)


@require_POST
@tenant_required
def member_change_role(request, membership_id):
    target = access_object(request, Membership, membership_id, permission="member.manage")
    return _change_role(request, target)


@recent_login_required
def _change_role(request, target):
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _render_list(request, role_form=form, form_target=target, status=400)

    try:
        check_change_role(request.membership, target, form.cleaned_data["role"], request=request)
    except TenantError as error:
        messages.error(request, error.message)
        return redirect("member_list")

    messages.success(request, f"Changed the role of {target.user.email}.")
    return redirect("member_list")


@require_POST
@tenant_required
def member_remove(request, membership_id):
    target = access_object(request, Membership, membership_id, permission="member.manage")
    return _remove(request, target)


@recent_login_required
def _remove(request, target):
    try:
        check_remove_member(request.membership, target, request=request)
    except TenantError as error:
        messages.error(request, error.message)
        return redirect("member_list")

    messages.success(request, f"Removed {target.user.email} from {request.tenant.name}.")
    if target.user == request.user:
        forget_tenant(request)
        return redirect("tenant_list")
    return redirect("member_list")


@require_POST
@require_permission("tenant.view")
def member_leave(request):
    tenant = request.tenant
    try:
        do_leave_tenant(request.membership, request=request)
    except TenantError as error:
        messages.error(request, error.message)
        return redirect("member_list")

    forget_tenant(request)
    messages.success(request, f"You left {tenant.name}.")
    return redirect("tenant_list")


def _render_list(request, role_form=None, form_target=None, status=200):
    memberships = list(
        Membership.objects.for_tenant(request.tenant).select_related("user").order_by("user__email")
    )
    owners = [membership for membership in memberships if membership.role == Membership.Role.OWNER]
    ctx = {
        "memberships": memberships,
        # The last owner can be neither demoted nor removed, and cannot leave.
        "last_owner": owners[0] if len(owners) == 1 else None,
        "can_manage": has_permission(request.membership.role, "member.manage"),
        "can_manage_owners": has_permission(request.membership.role, "owner.manage"),
        "roles": Membership.Role.choices,
        "role_form": role_form,
        "form_target": form_target,
    }
    return render(request, "portal/members/list.html", ctx, status=status)
