from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.forms import TenantDeleteForm, TenantNameForm
from tenants.access import (
    access_own_membership,
    current_membership,
    forget_tenant,
    recent_login_required,
    require_permission,
    switch_tenant,
)
from tenants.actions import do_create_tenant, do_delete_tenant, do_rename_tenant


@require_GET
@login_required
def tenant_list(request):
    return _render_list(request, TenantNameForm())


@require_POST
@login_required
def tenant_create(request):
    form = TenantNameForm(request.POST)
    if not form.is_valid():
        return _render_list(request, form, status=400)

    tenant = do_create_tenant(form.cleaned_data["name"], request.user, request=request)
    switch_tenant(request, access_own_membership(request, tenant.public_id))

    messages.success(request, f"Created the tenant {tenant.name}.")
    return redirect("index")


@require_POST
@login_required
def tenant_switch(request, tenant_id):
    membership = access_own_membership(request, tenant_id)
    switch_tenant(request, membership)

    messages.success(request, f"Switched to {membership.tenant.name}.")
    return redirect("index")


@require_GET
@require_permission("tenant.manage")
def tenant_settings(request):
    return _render_settings(request)


@require_POST
@require_permission("tenant.manage")
def tenant_rename(request):
    form = TenantNameForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, rename_form=form, status=400)

    do_rename_tenant(request.tenant, form.cleaned_data["name"], actor=request.user, request=request)

    messages.success(request, f"Renamed the tenant to {request.tenant.name}.")
    return redirect("tenant_settings")


@require_POST
@require_permission("tenant.delete")
@recent_login_required
def tenant_delete(request):
    tenant = request.tenant
    form = TenantDeleteForm(request.POST, tenant=tenant)
    if not form.is_valid():
        return _render_settings(request, delete_form=form, status=400)

    do_delete_tenant(tenant, actor=request.user, request=request)
    forget_tenant(request)

    messages.success(request, f"Deleted the tenant {tenant.name} and all its data.")
    return redirect("tenant_list")


def _render_list(request, form, status=200):
    current = current_membership(request)
    ctx = {
        "memberships": request.user.memberships.select_related("tenant").order_by("tenant__name"),
        "current_tenant": current.tenant if current else None,
        "form": form,
    }
    return render(request, "portal/tenants/list.html", ctx, status=status)


def _render_settings(request, rename_form=None, delete_form=None, status=200):
    tenant = request.tenant
    ctx = {
        "tenant": tenant,
        "rename_form": rename_form or TenantNameForm(initial={"name": tenant.name}),
        "delete_form": delete_form or TenantDeleteForm(tenant=tenant),
    }
    return render(request, "portal/tenants/settings.html", ctx, status=status)
