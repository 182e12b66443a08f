"""Factories for connections and their credentials. Each returns saved rows."""

import secrets
from datetime import timedelta

from django.utils import timezone

from connector.models import Connection, Credential
from connector.vault import credentials as vault


def fake_api_key():
    return "KeapAK-" + secrets.token_hex(25)


def make_connection(
    tenant,
    *,
    method=Connection.Method.PAT,
    status=Connection.Status.ACTIVE,
    key=None,
    keap_tenant_id=None,
):
    """Create a PAT or SAK connection whose credential holds `key` (a random one by default)."""
    key = key or fake_api_key()
    connection = Connection.objects.create(
        tenant=tenant,
        method=method,
        status=status,
        keap_tenant_id=keap_tenant_id or f"x{secrets.token_hex(3)}.infusionsoft.com",
        keap_account_name="Sandbox account",
        keap_user_email="keap-user@example.com",
        connected_at=timezone.now(),
    )
    credential = Credential(tenant=tenant, connection=connection, key_hint=key[-4:])
    vault.store(credential, {Credential.Field.API_KEY: key})
    return connection


def make_oauth_connection(
    tenant,
    *,
    access_token,
    refresh_token,
    expires_in=timedelta(hours=24),
    keap_tenant_id=None,
    status=Connection.Status.ACTIVE,
):
    connection = Connection.objects.create(
        tenant=tenant,
        method=Connection.Method.OAUTH,
        status=status,
        keap_tenant_id=keap_tenant_id or f"x{secrets.token_hex(3)}.infusionsoft.com",
        connected_at=timezone.now(),
    )
    credential = Credential(
        tenant=tenant,
        connection=connection,
        access_token_expires_at=timezone.now() + expires_in,
        refresh_token_issued_at=timezone.now(),
    )
    vault.store(
        credential,
        {
            Credential.Field.ACCESS_TOKEN: access_token,
            Credential.Field.REFRESH_TOKEN: refresh_token,
        },
    )
    return connection


def current_credential(connection):
    return Credential.objects.select_related("tenant", "connection").get(
        connection=connection, is_pending=False
    )
