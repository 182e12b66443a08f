"""Encrypting and decrypting the secret fields of a Credential.

Each value is encrypted with the tenant's keyset and associated data naming the tenant, the
connection and the field. Every decryption writes a `credential.decrypted` audit event.

Lock order, kept by every writer to avoid deadlocks: connection row, credential row, tenant
keyset row, then the tenant's audit chain head (taken by `record_event`).
"""

import logging

import tink
from django.db import transaction
from tink import aead

from connector.actor import Actor
from connector.models import Credential
from connector.vault import keysets, tenant_keys
from connector.vault.errors import VaultError
from tenants.audit import record_event
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)


def associated_data(credential: Credential, field: str) -> bytes:
    tenant_id = credential.tenant.public_id
    connection_id = credential.connection.public_id
    return (
        f"connector.credential|tenant={tenant_id}|connection={connection_id}|field={field}".encode()
    )


def encrypt_into(credential: Credential, values: dict[str, str], handle: tink.KeysetHandle):
    """Set the ciphertext of each field in `values` on `credential`, without saving it."""
    primitive = handle.primitive(aead.Aead)
    for field, plaintext in values.items():
        if field not in Credential.Field.values:
            raise ValueError(f"Unknown credential field {field!r}.")
        ciphertext = primitive.encrypt(plaintext.encode(), associated_data(credential, field))
        credential.set_ciphertext(field, ciphertext)


def store(credential: Credential, values: dict[str, str]) -> None:
    """Encrypt `values` ({field: plaintext}) into `credential` and save the whole row.

    Creates the tenant's keyset on first use. The keyset row stays locked until the row is
    saved, so the key used cannot be retired in between.
    """
    with transaction.atomic():
        handle = tenant_keys.get_or_create_handle_for_encrypt(credential.tenant)
        encrypt_into(credential, values, handle)
        credential.save()


def decrypt(
    credential: Credential,
    field: str,
    *,
    actor: Actor,
    purpose: str,
    handle: tink.KeysetHandle | None = None,
) -> str:
    """Decrypt one field of `credential`, audit it and return the plaintext.

    Only the Keap client (`connector.keap.client`) calls this. Raises VaultError when the field
    is empty or the ciphertext fails authentication (altered, copied from another row or field,
    or encrypted with a key the keyset no longer has); the failure is audited too.
    """
    ciphertext = credential.ciphertext(field)
    if ciphertext is None:
        raise VaultError(f"Connection {credential.connection.public_id} has no stored {field}.")
    ciphertext = bytes(ciphertext)

    if handle is None:
        handle = tenant_keys.load_handle(credential.tenant)
    try:
        plaintext = handle.primitive(aead.Aead).decrypt(
            ciphertext, associated_data(credential, field)
        )
    except tink.TinkError:
        _audit_decrypt(credential, field, actor, purpose, AuditEvent.Outcome.FAILURE)
        raise VaultError(
            f"The stored {field} of connection {credential.connection.public_id} failed "
            "authentication: it was altered, copied from another row or field, or encrypted "
            "with a key that is no longer in the tenant's keyset."
        ) from None

    _audit_decrypt(credential, field, actor, purpose, AuditEvent.Outcome.SUCCESS)
    return plaintext.decode()


def _audit_decrypt(credential, field, actor, purpose, outcome):
    record_event(
        credential.tenant,
        "credential.decrypted",
        **actor.audit_fields(),
        target_type="connection",
        target_id=credential.connection.public_id,
        outcome=outcome,
        details={"field": field, "purpose": purpose, "pending": credential.is_pending},
    )


def reencrypt_tenant(tenant, *, actor: Actor) -> int:
    """Re-encrypt every stored value of `tenant` that is not under its primary key.

    Returns how many credential rows changed. Each row is re-encrypted in its own transaction
    under its row lock, so a concurrent refresh either finishes first or sees the new value,
    and each changed row gets a `credential.reencrypted` audit event.
    """
    changed = 0
    ids = list(Credential.objects.for_tenant(tenant).values_list("pk", flat=True))
    for credential_id in ids:
        if _reencrypt_one(credential_id, actor):
            changed += 1
    return changed


def _reencrypt_one(credential_id, actor) -> bool:
    with transaction.atomic():
        credential = (
            Credential.objects.select_for_update(of=("self",))
            .select_related("tenant", "connection")
            .filter(pk=credential_id)
            .first()
        )
        if credential is None:
            return False

        handle = tenant_keys.load_handle(credential.tenant, for_encrypt=True)
        primary = keysets.primary_key_id(handle)
        primitive = handle.primitive(aead.Aead)
        old_key_ids = {}
        for field in Credential.Field.values:
            ciphertext = credential.ciphertext(field)
            if ciphertext is None:
                continue
            ciphertext = bytes(ciphertext)
            key_id = keysets.ciphertext_key_id(ciphertext)
            if key_id == primary:
                continue
            try:
                plaintext = primitive.decrypt(ciphertext, associated_data(credential, field))
            except tink.TinkError:
                raise VaultError(
                    f"Cannot re-encrypt the {field} of connection "
                    f"{credential.connection.public_id}: it fails authentication."
                ) from None
            credential.set_ciphertext(
                field, primitive.encrypt(plaintext, associated_data(credential, field))
            )
            old_key_ids[field] = key_id

        if not old_key_ids:
            return False
        credential.save(
            update_fields=[f"{field}_ciphertext" for field in old_key_ids] + ["updated_at"]
        )
        record_event(
            credential.tenant,
            "credential.reencrypted",
            **actor.audit_fields(),
            target_type="connection",
            target_id=credential.connection.public_id,
            details={"old": old_key_ids, "new": primary},
        )
    return True
