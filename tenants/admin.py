"""Django admin pages for tenants, memberships, invitations and audit events.

Every page is read-only, superusers included. Changes go through the portal's actions,
because they enforce rules that the admin cannot (a tenant keeps an owner, invitations are
single-use) and write an audit event. Audit events are append-only. Each page that shows a
tenant's rows records an `operator.accessed` event in that tenant's log
(tenants/operator_access.py).
"""

from django.contrib import admin

from tenants.models import AuditEvent, Invitation, Membership, Tenant
from tenants.operator_access import OperatorAccessAdminMixin


class ReadOnlyAdmin(OperatorAccessAdminMixin, admin.ModelAdmin):
    """A ModelAdmin whose rows can be listed and viewed but not added, changed or deleted."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(ReadOnlyAdmin):
    tenant_field = None
    list_display = ("name", "public_id", "created_at")
    search_fields = ("name", "=public_id")
    ordering = ("-created_at",)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role",)
    list_select_related = ("user", "tenant")
    search_fields = ("user__email", "tenant__name")
    ordering = ("-created_at",)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "tenant", "role", "created_at", "expires_at", "accepted_at")
    list_select_related = ("tenant",)
    search_fields = ("email", "tenant__name")
    ordering = ("-created_at",)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "tenant",
        "sequence",
        "created_at",
        "actor_type",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "outcome",
    )
    list_filter = ("actor_type", "outcome")
    list_select_related = ("tenant",)
    search_fields = ("=action", "=target_id", "=request_id")
    ordering = ("-created_at",)
    # Counting every row of a log with millions of events on each page load is slow.
    show_full_result_count = False
