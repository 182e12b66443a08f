"""Per-tenant keysets: creation, unwrapping, rotation and retirement.

Each tenant's Tink keyset is stored encrypted under the master AEAD, with associated data naming
the tenant, so a wrapped keyset copied to another tenant's row does not unwrap.
"""

import logging
import threading

import tink
from django.db import IntegrityError, transaction
from tink import json_proto_keyset_format

from connector.models import Credential, TenantKeyset
from connector.vault import keysets, master
from connector.vault.errors import VaultError

logger = logging.getLogger(__name__)

CIPHERTEXT_FIELDS = [f"{field}_ciphertext" for field in Credential.Field.values]

UNWRAPPED_CACHE_SIZE = 1000
_unwrapped: dict[tuple[str, str, str], tink.KeysetHandle] = {}
_unwrapped_lock = threading.Lock()


def keyset_associated_data(tenant) -> bytes:
    return f"connector.tenant-keyset|tenant={tenant.public_id}".encode()


def wrap(handle: tink.KeysetHandle, tenant) -> str:
    return json_proto_keyset_format.serialize_encrypted(
        handle, master.master_aead(), keyset_associated_data(tenant)
    )


def unwrap(row: TenantKeyset, tenant) -> tink.KeysetHandle:
    """Return the tenant's keyset from its stored, wrapped form.

    Unwrapped keysets are kept per process, so each Keap call does not decrypt and parse the
    keyset again. The cache key is the master keyset, the tenant and the wrapped text itself,
    so a rotation or rewrap, which changes the text, is never served from the cache. A deleted
    keyset is not served either, because callers read the row first.
    """
    cache_key = (master.master_keyset_json(), str(tenant.public_id), row.encrypted_keyset)
    handle = _unwrapped.get(cache_key)
    if handle is None:
        handle = _unwrap(row, tenant)
        with _unwrapped_lock:
            if len(_unwrapped) >= UNWRAPPED_CACHE_SIZE:
                _unwrapped.pop(next(iter(_unwrapped)))
            _unwrapped[cache_key] = handle
    return handle


def _unwrap(row, tenant):
    try:
        return json_proto_keyset_format.parse_encrypted(
            row.encrypted_keyset, master.master_aead(), keyset_associated_data(tenant)
        )
    except tink.TinkError:
        _, _, wrapping_key_id = keysets.encrypted_keyset_info(row.encrypted_keyset)
        raise VaultError(
            f"Cannot unwrap the vault keyset of tenant {tenant.public_id}: it was wrapped by "
            f"master key {wrapping_key_id}, which VAULT_MASTER_KEYSET lacks (it has "
            f"{keysets.key_ids(master.master_handle())}), or the stored keyset was altered."
        ) from None


def load_handle(tenant, *, for_encrypt=False) -> tink.KeysetHandle:
    """Return the tenant's keyset, raising VaultError when it has none.

    With `for_encrypt`, the keyset row stays locked (FOR NO KEY UPDATE) until the caller's
    transaction ends. A caller that stores a ciphertext in that transaction thus cannot
    interleave with `retire`, which could otherwise remove the key it just encrypted with.
    """
    rows = TenantKeyset.objects.filter(tenant=tenant)
    if for_encrypt:
        rows = rows.select_for_update(no_key=True)
    row = rows.first()
    if row is None:
        raise VaultError(f"Tenant {tenant.public_id} has no vault keyset, so nothing decrypts.")
    return unwrap(row, tenant)


def get_or_create_handle_for_encrypt(tenant) -> tink.KeysetHandle:
    """Return the tenant's keyset locked as in `load_handle`, creating it on first use.

    Must run inside a transaction.
    """
    if not TenantKeyset.objects.filter(tenant=tenant).exists():
        handle = keysets.generate_keyset_handle()
        try:
            with transaction.atomic():
                TenantKeyset.objects.create(tenant=tenant, encrypted_keyset=wrap(handle, tenant))
            logger.info("[tenant=%s] created vault keyset", tenant.public_id)
        except IntegrityError:
            # Another process created it between our read and our insert; use theirs.
            pass
    return load_handle(tenant, for_encrypt=True)


def rotate(tenant) -> tuple[int, int]:
    """Add a new primary key to the tenant's keyset and return (old primary, new primary).

    The old key stays in the keyset, so existing ciphertexts still decrypt until
    `connector.vault.credentials.reencrypt_tenant` has moved them to the new key.
    """
    with transaction.atomic():
        row = TenantKeyset.objects.select_for_update().filter(tenant=tenant).first()
        if row is None:
            raise VaultError(f"Tenant {tenant.public_id} has no vault keyset to rotate.")

        handle = unwrap(row, tenant)
        rotated = keysets.add_primary_key(handle)
        row.encrypted_keyset = wrap(rotated, tenant)
        row.save(update_fields=["encrypted_keyset", "updated_at"])
    return keysets.primary_key_id(handle), keysets.primary_key_id(rotated)


def rewrap(row_id) -> bool:
    """Re-encrypt one tenant keyset under the master primary key; return whether it changed."""
    master_primary = master.master_primary_key_id()
    with transaction.atomic():
        row = TenantKeyset.objects.select_for_update().select_related("tenant").get(pk=row_id)
        _, _, wrapping_key_id = keysets.encrypted_keyset_info(row.encrypted_keyset)
        if wrapping_key_id == master_primary:
            return False

        handle = unwrap(row, row.tenant)
        row.encrypted_keyset = wrap(handle, row.tenant)
        row.save(update_fields=["encrypted_keyset", "updated_at"])
    return True


def credential_key_usage(tenant) -> dict[int, int]:
    """Return {tenant key id: number of stored ciphertexts it encrypted} for one tenant.

    Counts job payloads, results and failed rows too: a tenant rotation re-encrypts only
    credentials, so an old key stays needed until the job data it encrypted is purged.
    """
    from connector.job_models import JOB_CIPHERTEXT_FIELDS, Job

    usage: dict[int, int] = {}
    sources = [
        Credential.objects.for_tenant(tenant).values_list(*CIPHERTEXT_FIELDS),
        Job.objects.for_tenant(tenant).values_list(*JOB_CIPHERTEXT_FIELDS),
    ]
    for rows in sources:
        for values in rows.iterator(chunk_size=500):
            for ciphertext in values:
                if ciphertext is None:
                    continue
                key_id = keysets.ciphertext_key_id(bytes(ciphertext))
                usage[key_id] = usage.get(key_id, 0) + 1
    return usage


def retire(tenant, key_id: int) -> None:
    """Remove key `key_id` from the tenant's keyset.

    Raises VaultError while any credential of the tenant is still encrypted with it, or when it
    is the primary key. The keyset row lock keeps a rotation from running at the same time.
    """
    with transaction.atomic():
        row = TenantKeyset.objects.select_for_update().filter(tenant=tenant).first()
        if row is None:
            raise VaultError(f"Tenant {tenant.public_id} has no vault keyset.")

        in_use = credential_key_usage(tenant).get(key_id, 0)
        if in_use:
            raise VaultError(
                f"Tenant key {key_id} of tenant {tenant.public_id} still encrypts {in_use} stored "
                "value(s). Run `manage.py vault_rotate_tenant_key` to re-encrypt credentials, and "
                "wait until job data older than the rotation is purged (JOB_RESULT_RETENTION_DAYS)."
            )

        try:
            remaining = keysets.remove_key(unwrap(row, tenant), key_id)
        except keysets.KeysetError as exc:
            raise VaultError(str(exc)) from None
        row.encrypted_keyset = wrap(remaining, tenant)
        row.save(update_fields=["encrypted_keyset", "updated_at"])
