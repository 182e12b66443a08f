"""Django admin pages for Keap connections and their credentials, read-only.

No page shows a ciphertext or a secret: the credential admin lists an explicit set of fields,
so a secret field added to the model later stays hidden until someone lists it here. Each page
that shows a tenant's rows records an `operator.accessed` event in that tenant's log.
"""

from django.contrib import admin

from connector.models import Connection, Credential
from tenants.admin import ReadOnlyAdmin


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = (
        "display_name",
        "tenant",
        "method",
        "status",
        "keap_tenant_id",
        "created_at",
        "last_checked_at",
    )
    list_filter = ("method", "status")
    list_select_related = ("tenant",)
    search_fields = ("=public_id", "keap_tenant_id", "keap_account_name", "tenant__name")
    ordering = ("-created_at",)
    fields = (
        "public_id",
        "tenant",
        "method",
        "status",
        "keap_tenant_id",
        "keap_account_name",
        "keap_user_email",
        "created_by",
        "created_at",
        "connected_at",
        "status_changed_at",
        "last_success_at",
        "last_checked_at",
        "last_error",
        "revoked_at",
    )


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "tenant",
        "connection",
        "is_pending",
        "key_hint",
        "access_token_expires_at",
        "updated_at",
    )
    list_filter = ("is_pending",)
    list_select_related = ("tenant", "connection")
    search_fields = ("=public_id",)
    ordering = ("-updated_at",)
    # The three *_ciphertext fields are left out on purpose. key_hint is the last four
    # characters of a PAT or SAK, which the portal shows to every member too.
    fields = (
        "public_id",
        "tenant",
        "connection",
        "is_pending",
        "key_hint",
        "access_token_expires_at",
        "refresh_token_issued_at",
        "created_at",
        "updated_at",
    )
