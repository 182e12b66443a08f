"""Operator access: a staff user who opens a tenant's data outside a membership of that tenant.

Each access appends an `operator.accessed` event (actor type `operator`) to the log of the
tenant whose data was shown, so a tenant can see when the portal's staff looked at it. The
Django admin bypasses memberships and roles altogether, so every admin page that shows a
tenant's rows records it, even for a staff user who is also a member of that tenant.
"""

from django.contrib.admin.utils import unquote
from django.http import Http404

from tenants.audit import record_event
from tenants.models import AuditEvent, Tenant

ACTION = "operator.accessed"


def is_operator(user):
    return user.is_authenticated and user.is_active and user.is_staff


def record_operator_access(request, tenant, *, via, view, target_type="", target_id="", **extra):
    """Append one `operator.accessed` event for `request.user` to `tenant`'s log.

    `via` is "admin" or "portal"; `view` names the page. `extra` goes into the details and must
    hold no secret.
    """
    user = request.user
    return record_event(
        tenant,
        ACTION,
        actor_type=AuditEvent.ActorType.OPERATOR,
        actor_id=str(user.pk),
        actor_label=user.email or user.get_username(),
        target_type=target_type,
        target_id=str(target_id),
        details={"via": via, "view": view, **extra},
        request=request,
    )


def access_tenant_as_operator(request, tenant_public_id):
    """Return the tenant `tenant_public_id` for a staff user, recording nothing yet.

    Raises Http404 for anyone else and for a missing tenant, so the page does not reveal to
    non-staff users that it exists.
    """
    if not is_operator(request.user):
        raise Http404("No tenant matches the given id.")
    tenant = Tenant.objects.filter(public_id=tenant_public_id).first()
    if tenant is None:
        raise Http404("No tenant matches the given id.")
    return tenant


class OperatorAccessAdminMixin:
    """ModelAdmin mixin that records operator access on list, change, history and delete pages.

    A list page records one event per tenant whose rows it shows. `tenant_field` names the
    model's foreign key to Tenant; None means the rows are tenants themselves.
    """

    tenant_field = "tenant"

    def tenant_id_of(self, obj):
        return obj.pk if self.tenant_field is None else getattr(obj, f"{self.tenant_field}_id")

    def model_label(self):
        return self.model._meta.label_lower

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            self._record_changelist(request, changelist.result_list)
        return response

    def _record_changelist(self, request, rows):
        counts = {}
        for obj in rows:
            tenant_id = self.tenant_id_of(obj)
            counts[tenant_id] = counts.get(tenant_id, 0) + 1
        for tenant in Tenant.objects.filter(pk__in=counts).order_by("pk"):
            record_operator_access(
                request,
                tenant,
                via="admin",
                view="changelist",
                model=self.model_label(),
                rows=counts[tenant.pk],
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        self._record_object(request, object_id, "change")
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        self._record_object(request, object_id, "history")
        return response

    def delete_view(self, request, object_id, extra_context=None):
        # Recorded before the deletion, which could take the tenant's log with it.
        self._record_object(request, object_id, "delete", self.has_delete_permission)
        return super().delete_view(request, object_id, extra_context)

    def _record_object(self, request, object_id, view, permission_check=None):
        permission_check = permission_check or self.has_view_or_change_permission
        obj = self.get_object(request, unquote(object_id))
        if obj is None or not permission_check(request, obj):
            return
        tenant = Tenant.objects.filter(pk=self.tenant_id_of(obj)).first()
        if tenant is None:
            return
        record_operator_access(
            request,
            tenant,
            via="admin",
            view=view,
            model=self.model_label(),
            target_type=self.model._meta.model_name,
            target_id=getattr(obj, "public_id", obj.pk),
        )
