"""Every URL pattern of the project that touches tenant data, for the isolation and CSRF tests.

tests/portal/test_url_isolation.py fails when a URL pattern is in none of these tables and not
in the public list of tests/url_patterns.py. An app that adds a view adds one entry here:

- TENANT_SCOPED_URLS: the URL's kwargs name an object that belongs to one tenant. The test
  builds an object in tenant B, requests it with each method as a user of tenant A, and expects
  404 every time with tenant B's rows unchanged. Example for a later view:

      "connection_detail": ScopedUrl(
          build_kwargs=lambda tenant: {"connection_id": make_connection(tenant).public_id},
          methods=("get",),
      ),

- SESSION_TENANT_URLS: the URL takes no id and acts on the session's current tenant. The test
  sends tenant B's public id in the query string and the body, and expects tenant B unchanged.

- USER_URLS: the URL acts on the signed-in user's own data or on a signed invitation link, not
  on a tenant chosen by id. Each entry gives the reason and builds kwargs for the CSRF test.

TENANT_ROWS lists what "tenant B's rows unchanged" compares: an app that adds a tenant-owned
model adds a function returning that model's rows of a tenant as comparable values.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from connector.models import ClientSite, Connection, Consent, Credential, Job, SiteKey
from tenants import invitations
from tenants.models import AuditEvent, Invitation, Membership, Tenant
from tests import factories


@dataclass(frozen=True)
class ScopedUrl:
    # Creates what the URL needs inside the given tenant and returns the URL's kwargs.
    build_kwargs: Callable
    # Lower-case HTTP methods that the view accepts.
    methods: tuple
    # A request body that the view would accept for an object of the user's own tenant.
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SessionUrl:
    methods: tuple
    # Builds a request body from (own tenant, other tenant).
    build_data: Callable = lambda own, other: {}


@dataclass(frozen=True)
class UserUrl:
    reason: str
    build_kwargs: Callable = lambda tenant: {}


def _member_kwargs(tenant):
    membership = factories.make_membership(tenant, role=Membership.Role.MEMBER)
    return {"membership_id": membership.public_id}


def _invitation_kwargs(tenant):
    return {"invitation_id": factories.make_invitation(tenant).public_id}


def _invitation_token_kwargs(tenant):
    return {"token": invitations.make_token(factories.make_invitation(tenant))}


def _connection_kwargs(tenant):
    from tests.connector.factories import make_connection

    return {"connection_id": make_connection(tenant).public_id}


def _site_kwargs(tenant):
    from tests.connector.site_factories import make_site

    return {"site_id": make_site(tenant).site.public_id}


def _site_key_kwargs(tenant):
    from tests.connector.site_factories import make_site

    return {"key_id": make_site(tenant).site_key.public_id}


def _site_create_data(own, other):
    from tests.connector.factories import make_connection

    return {
        "name": "Shop",
        "connection": str(make_connection(other).public_id),
        "scopes": ["contacts:read"],
        "requests_per_minute": "60",
    }


def _job_kwargs(tenant):
    from tests.connector.factories import make_connection

    # Created directly, without create_job's audit event, so the tenant can still be deleted.
    job = Job.objects.create(
        tenant=tenant,
        connection=make_connection(tenant),
        kind=Job.Kind.BATCH_UPSERT,
        method="PUT",
        path_template="/v1/contacts",
        progress_total=1,
    )
    return {"job_id": job.public_id}


def _upload_kwargs(tenant):
    from portal.views.imports import store_upload
    from tests.connector.factories import make_connection

    membership = factories.make_membership(tenant, role=Membership.Role.OWNER)
    document = {
        "headers": ["Email"],
        "rows": [["row@example.com"]],
        "filename": "contacts.csv",
        "connection": str(make_connection(tenant).public_id),
    }
    return {"upload_id": store_upload(tenant, membership.user, document)}


def _import_upload_data(own, other):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.connector.factories import make_connection

    return {
        "file": SimpleUploadedFile("contacts.csv", b"Email\nrow@example.com\n", "text/csv"),
        "connection": str(make_connection(other).public_id),
    }


SITE_EDIT_DATA = {"name": "Renamed", "scopes": ["contacts:read"], "requests_per_minute": "60"}

TENANT_SCOPED_URLS = {
    "tenant_switch": ScopedUrl(lambda tenant: {"tenant_id": tenant.public_id}, ("post",)),
    "member_change_role": ScopedUrl(_member_kwargs, ("post",), {"role": "viewer"}),
    "member_remove": ScopedUrl(_member_kwargs, ("post",)),
    "invitation_revoke": ScopedUrl(_invitation_kwargs, ("post",)),
    "connection_detail": ScopedUrl(_connection_kwargs, ("get",)),
    "connection_check": ScopedUrl(_connection_kwargs, ("post",)),
    "connection_reconnect": ScopedUrl(
        _connection_kwargs, ("get", "post"), {"key": "KeapAK-" + "0" * 50}
    ),
    "connection_revoke": ScopedUrl(_connection_kwargs, ("get", "post")),
    # Staff only; any other user gets 404 for every tenant id, their own tenant's included.
    "operator_audit_log": ScopedUrl(lambda tenant: {"tenant_id": tenant.public_id}, ("get",)),
    "site_detail": ScopedUrl(_site_kwargs, ("get",)),
    "site_edit": ScopedUrl(_site_kwargs, ("get", "post"), SITE_EDIT_DATA),
    "site_pause": ScopedUrl(_site_kwargs, ("post",)),
    "site_resume": ScopedUrl(_site_kwargs, ("post",)),
    "site_revoke": ScopedUrl(_site_kwargs, ("get", "post")),
    "site_key_create": ScopedUrl(_site_kwargs, ("get", "post")),
    "site_key_rotate": ScopedUrl(_site_key_kwargs, ("get", "post"), {"overlap": "0"}),
    "site_key_revoke": ScopedUrl(_site_key_kwargs, ("post",)),
    "job_detail": ScopedUrl(_job_kwargs, ("get",)),
    "job_progress": ScopedUrl(_job_kwargs, ("get",)),
    "job_failed_rows_csv": ScopedUrl(_job_kwargs, ("get",)),
    # An upload waits in the cache, encrypted for one tenant and one user.
    "import_map": ScopedUrl(_upload_kwargs, ("get", "post"), {"column_0": "email"}),
    "import_start": ScopedUrl(_upload_kwargs, ("post",), {"column_0": "email"}),
}

SESSION_TENANT_URLS = {
    "connection_list": SessionUrl(("get",)),
    "connection_add_key": SessionUrl(
        ("get", "post"), lambda own, other: {"method": "pat", "key": "KeapAK-" + "0" * 50}
    ),
    "connection_oauth_start": SessionUrl(("post",)),
    # The tenant comes from the single-use state stored in the session when the flow started.
    "connection_oauth_callback": SessionUrl(("get",)),
    "index": SessionUrl(("get",)),
    "tenant_settings": SessionUrl(("get",)),
    "tenant_rename": SessionUrl(("post",), lambda own, other: {"name": "Renamed"}),
    "tenant_delete": SessionUrl(("post",), lambda own, other: {"name": other.name}),
    "member_list": SessionUrl(("get",)),
    "audit_log": SessionUrl(("get",)),
    "audit_export_csv": SessionUrl(("get",)),
    "audit_export_jsonl": SessionUrl(("get",)),
    "member_leave": SessionUrl(("post",)),
    "invitation_list": SessionUrl(("get",)),
    "invitation_create": SessionUrl(
        ("post",), lambda own, other: {"email": "new@example.com", "role": "member"}
    ),
    "site_list": SessionUrl(("get",)),
    # The body names a connection of the other tenant, which the form must not accept.
    "site_create": SessionUrl(("get", "post"), _site_create_data),
    "job_list": SessionUrl(("get",)),
    # The body names a connection of the other tenant, which the form must not accept.
    "import_upload": SessionUrl(("get", "post"), _import_upload_data),
}

USER_URLS = {
    "tenant_list": UserUrl("lists the signed-in user's own memberships"),
    "tenant_create": UserUrl("creates a new tenant owned by the signed-in user"),
    "invitation_detail": UserUrl(
        "the signed token names one invitation; the page shows only what that link offers",
        _invitation_token_kwargs,
    ),
    "invitation_accept": UserUrl(
        "the signed token names one invitation, accepted only by its verified recipient",
        _invitation_token_kwargs,
    ),
    # The client API: the site key in the Authorization header selects the tenant, never the
    # session or an id in the URL. tests/api checks another tenant's objects are 404 there.
    "api:me": UserUrl("the client API; the site key selects the site and its tenant"),
    "api:not_found": UserUrl("the client API's problem+json 404 for unknown paths"),
    "api:api-root": UserUrl("the client API's root, a problem+json 404"),
    "api:openapi-json": UserUrl("the client API's public OpenAPI description"),
    "api:openapi-view": UserUrl("the client API's public documentation page"),
    # The client API's job endpoints: the site key selects the site and its tenant, and a job
    # id of another site or tenant is 404; tests/jobs/test_api.py checks both.
    "api:job_detail": UserUrl("the client API; reads a job of the key's own site only"),
    "api:contact_upsert": UserUrl("the client API; queues a job for the key's site"),
    "api:contact_batch_upsert": UserUrl("the client API; queues a job for the key's site"),
    "api:contact_detail": UserUrl("the client API; queues a job for the key's site"),
    "api:contact_search": UserUrl("the client API; queues a job for the key's site"),
    "api:tag_apply": UserUrl("the client API; queues a job for the key's site"),
    "api:tag_remove": UserUrl("the client API; queues a job for the key's site"),
    "api:tag_list": UserUrl("the client API; queues a job for the key's site"),
    "api:custom_field_list": UserUrl("the client API; queues a job for the key's site"),
    "api:account": UserUrl("the client API; queues a job for the key's site"),
    "api:request_create": UserUrl("the client API; queues a job for the key's site"),
}

TENANT_ROWS = {
    "connections": lambda tenant: sorted(
        Connection.objects.for_tenant(tenant).values_list("public_id", "status")
    ),
    "credentials": lambda tenant: sorted(
        Credential.objects.for_tenant(tenant).values_list("public_id", "updated_at")
    ),
    "tenant": lambda tenant: list(Tenant.objects.filter(pk=tenant.pk).values_list("name")),
    "memberships": lambda tenant: sorted(
        Membership.objects.for_tenant(tenant).values_list("public_id", "user_id", "role")
    ),
    "invitations": lambda tenant: sorted(
        Invitation.objects.for_tenant(tenant).values_list("public_id", "accepted_at", "revoked_at")
    ),
    "audit_events": lambda tenant: AuditEvent.objects.filter(tenant=tenant).count(),
    "client_sites": lambda tenant: sorted(
        ClientSite.objects.for_tenant(tenant).values_list(
            "public_id", "name", "status", "updated_at"
        )
    ),
    "site_keys": lambda tenant: sorted(
        SiteKey.objects.for_tenant(tenant).values_list("public_id", "expires_at", "revoked_at")
    ),
    "consents": lambda tenant: Consent.objects.for_tenant(tenant).count(),
    "jobs": lambda tenant: sorted(
        Job.objects.for_tenant(tenant).values_list("public_id", "status", "progress_done")
    ),
}
