from django.urls import path

from portal.views import (
    audit,
    connections,
    home,
    imports,
    invitations,
    jobs,
    members,
    sites,
    tenants,
)

urlpatterns = [
    path("", home.index, name="index"),
    path("tenants/", tenants.tenant_list, name="tenant_list"),
    path("tenants/new/", tenants.tenant_create, name="tenant_create"),
    path("tenants/<uuid:tenant_id>/switch/", tenants.tenant_switch, name="tenant_switch"),
    # Pages of the current tenant, which comes from the session.
    path("tenant/settings/", tenants.tenant_settings, name="tenant_settings"),
    path("tenant/rename/", tenants.tenant_rename, name="tenant_rename"),
    path("tenant/delete/", tenants.tenant_delete, name="tenant_delete"),
    path("tenant/leave/", members.member_leave, name="member_leave"),
    path("tenant/members/", members.member_list, name="member_list"),
    path(
        "tenant/members/<uuid:membership_id>/role/",
        members.member_change_role,
        name="member_change_role",
    ),
    path(
        "tenant/members/<uuid:membership_id>/remove/",
        members.member_remove,
        name="member_remove",
    ),
    path("tenant/invitations/", invitations.invitation_list, name="invitation_list"),
    path("tenant/invitations/new/", invitations.invitation_create, name="invitation_create"),
    path(
        "tenant/invitations/<uuid:invitation_id>/revoke/",
        invitations.invitation_revoke,
        name="invitation_revoke",
    ),
    # Links from invitation emails. The signed token names one invitation, in any tenant.
    path("invitations/<str:token>/", invitations.invitation_detail, name="invitation_detail"),
    path(
        "invitations/<str:token>/accept/",
        invitations.invitation_accept,
        name="invitation_accept",
    ),
    # Keap connections of the current tenant.
    path("connections/", connections.connection_list, name="connection_list"),
    path("connections/new/key/", connections.connection_add_key, name="connection_add_key"),
    path(
        "connections/oauth/start/",
        connections.connection_oauth_start,
        name="connection_oauth_start",
    ),
    # The one redirect URI registered with Keap; the tenant comes from the state in the session.
    path(
        "connections/oauth/callback/",
        connections.connection_oauth_callback,
        name="connection_oauth_callback",
    ),
    path(
        "connections/<uuid:connection_id>/",
        connections.connection_detail,
        name="connection_detail",
    ),
    path(
        "connections/<uuid:connection_id>/check/",
        connections.connection_check,
        name="connection_check",
    ),
    path(
        "connections/<uuid:connection_id>/reconnect/",
        connections.connection_reconnect,
        name="connection_reconnect",
    ),
    path(
        "connections/<uuid:connection_id>/revoke/",
        connections.connection_revoke,
        name="connection_revoke",
    ),
    # The current tenant's audit log and its exports.
    path("audit/", audit.audit_log, name="audit_log"),
    path("audit/export.csv", audit.audit_export_csv, name="audit_export_csv"),
    path("audit/export.jsonl", audit.audit_export_jsonl, name="audit_export_jsonl"),
    # Staff only: any tenant's audit log, each visit recorded in that tenant's log.
    path(
        "operator/tenants/<uuid:tenant_id>/audit/",
        audit.operator_audit_log,
        name="operator_audit_log",
    ),
    # Client sites of the current tenant and their site keys.
    path("sites/", sites.site_list, name="site_list"),
    path("sites/new/", sites.site_create, name="site_create"),
    path("sites/<uuid:site_id>/", sites.site_detail, name="site_detail"),
    path("sites/<uuid:site_id>/edit/", sites.site_edit, name="site_edit"),
    path("sites/<uuid:site_id>/pause/", sites.site_pause, name="site_pause"),
    path("sites/<uuid:site_id>/resume/", sites.site_resume, name="site_resume"),
    path("sites/<uuid:site_id>/revoke/", sites.site_revoke, name="site_revoke"),
    path("sites/<uuid:site_id>/keys/new/", sites.site_key_create, name="site_key_create"),
    path("sites/keys/<uuid:key_id>/rotate/", sites.site_key_rotate, name="site_key_rotate"),
    path("sites/keys/<uuid:key_id>/revoke/", sites.site_key_revoke, name="site_key_revoke"),
    # Jobs of the current tenant; the progress partial is polled while a batch job runs.
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<uuid:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/progress/", jobs.job_progress, name="job_progress"),
    path(
        "jobs/<uuid:job_id>/failed-rows.csv",
        jobs.job_failed_rows_csv,
        name="job_failed_rows_csv",
    ),
    # Importing contacts from a CSV file: upload, map and preview, start.
    path("import/", imports.import_upload, name="import_upload"),
    path("import/<uuid:upload_id>/", imports.import_map, name="import_map"),
    path("import/<uuid:upload_id>/start/", imports.import_start, name="import_start"),
]
