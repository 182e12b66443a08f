"""The current tenant's audit log: the filtered page, CSV and JSON Lines exports, and the
operators' read-only view of any tenant's log.

Admins and owners (`audit.view`) see every column. Viewers and members
(`audit.view_redacted`) see the log without source IP addresses and user agents, which the
queries then do not even select.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tenants import audit_queries
from tenants.access import require_permission
from tenants.audit import record_event
from tenants.models import AuditEvent
from tenants.operator_access import access_tenant_as_operator, record_operator_access
from tenants.roles import has_permission

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", audit_queries.iter_csv_lines),
    "jsonl": ("application/x-ndjson; charset=utf-8", audit_queries.iter_jsonl_lines),
}


@require_GET
@require_permission("audit.view_redacted")
def audit_log(request):
    show_origin = has_permission(request.membership.role, "audit.view")
    return _render_log(request, request.tenant, show_origin=show_origin, operator_view=False)


@require_GET
@require_permission("audit.view_redacted")
def audit_export_csv(request):
    return _export(request, "csv")


@require_GET
@require_permission("audit.view_redacted")
def audit_export_jsonl(request):
    return _export(request, "jsonl")


@require_GET
@login_required
def operator_audit_log(request, tenant_id):
    tenant = access_tenant_as_operator(request, tenant_id)
    response = _render_log(request, tenant, show_origin=True, operator_view=True)

    record_operator_access(
        request, tenant, via="portal", view="audit_log", target_type="tenant", target_id=tenant_id
    )
    return response


def _render_log(request, tenant, *, show_origin, operator_view):
    form = audit_queries.AuditFilterForm(request.GET)
    ctx = {
        "form": form,
        "tenant": tenant,
        "show_origin": show_origin,
        "operator_view": operator_view,
        "page": None,
    }
    if not form.is_valid():
        return render(request, "portal/audit/log.html", ctx, status=400)

    page = audit_queries.get_page(
        tenant,
        form.to_filter(),
        show_origin=show_origin,
        before=form.cleaned_data["before"],
        after=form.cleaned_data["after"],
    )
    for event in page.events:
        event["details_text"] = json.dumps(event["details"], sort_keys=True, ensure_ascii=False)
    ctx["page"] = page
    return render(request, "portal/audit/log.html", ctx)


def _export(request, export_format):
    form = audit_queries.AuditFilterForm(request.GET)
    if not form.is_valid():
        ctx = {"form": form, "tenant": request.tenant, "page": None, "show_origin": False}
        return render(request, "portal/audit/log.html", ctx, status=400)

    tenant = request.tenant
    audit_filter = form.to_filter()
    show_origin = has_permission(request.membership.role, "audit.view")
    exported = record_event(
        tenant,
        "audit.exported",
        actor_type=AuditEvent.ActorType.USER,
        actor_id=request.user.pk,
        actor_label=request.user.get_username(),
        details={
            "format": export_format,
            "filters": audit_filter.as_details(),
            "redacted": not show_origin,
        },
        request=request,
    )

    # The export covers the events that existed before this one, so it is a fixed snapshot
    # while new events keep arriving during a long download.
    events = audit_queries.iter_export_events(
        tenant, audit_filter, show_origin=show_origin, up_to_sequence=exported.sequence - 1
    )
    content_type, iter_lines = EXPORT_FORMATS[export_format]
    columns = audit_queries.visible_columns(show_origin)
    response = StreamingHttpResponse(iter_lines(events, columns), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{tenant.public_id}-{stamp}.{export_format}"'
    )
    return response
