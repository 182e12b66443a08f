"""Operator tasks on the vault: master key rotation, tenant key rotation, reports, retirement.

Rotating the master key takes two deploys, so no running process ever meets a tenant keyset it
cannot unwrap:
1. `new_master_keyset_with_added_key` returns the current master keyset plus a new primary key.
   The operator deploys it as VAULT_MASTER_KEYSET to every process; each then unwraps with
   either key.
2. `rewrap_all_tenant_keysets` re-encrypts every tenant keyset under the new primary.
3. `master_keyset_without_key` returns the keyset minus the old key, and raises VaultError while
   any tenant keyset is still wrapped by it. The operator deploys that keyset.
"""

import logging
from dataclasses import dataclass, field

from connector.actor import Actor
from connector.models import TenantKeyset
from connector.vault import credentials, keysets, master, tenant_keys
from connector.vault.errors import VaultError
from tenants.audit import record_event

logger = logging.getLogger(__name__)


@dataclass
class TenantKeyUsage:
    primary_key_id: int
    key_ids: list[int]
    # {tenant key id: stored values it encrypts}
    values_by_key: dict[int, int]


@dataclass
class KeyUsageReport:
    master_key_ids: list[int]
    master_primary_key_id: int
    # {master key id: number of tenant keysets it wraps}
    tenant_keysets_by_master_key: dict[int, int] = field(default_factory=dict)
    # {tenant public id: its keys and their use}
    tenants: dict[str, TenantKeyUsage] = field(default_factory=dict)


def new_master_keyset_with_added_key() -> str:
    """Return the configured master keyset with a new primary key, as cleartext Tink JSON."""
    return keysets.serialize_cleartext_json(keysets.add_primary_key(master.master_handle()))


def rewrap_all_tenant_keysets() -> tuple[int, int]:
    """Re-encrypt every tenant keyset not wrapped by the master primary key.

    Returns (rewrapped, already current). Each keyset is rewrapped under its row lock in its own
    transaction, so readers see either the old or the new wrapping, and both unwrap while the
    master keyset holds both keys.
    """
    rewrapped = current = 0
    for row_id in TenantKeyset.objects.order_by("pk").values_list("pk", flat=True):
        if tenant_keys.rewrap(row_id):
            rewrapped += 1
        else:
            current += 1
    return rewrapped, current


def master_keyset_without_key(key_id: int) -> str:
    """Return the master keyset without key `key_id`, as cleartext Tink JSON.

    Raises VaultError while any tenant keyset is wrapped by that key, or when it is the primary.
    """
    in_use = tenant_keysets_by_master_key().get(key_id, 0)
    if in_use:
        raise VaultError(
            f"Master key {key_id} still wraps {in_use} tenant keyset(s); run "
            "`manage.py vault_rotate_master --rewrap` with the new master keyset deployed first."
        )
    try:
        remaining = keysets.remove_key(master.master_handle(), key_id)
    except keysets.KeysetError as exc:
        raise VaultError(str(exc)) from None
    return keysets.serialize_cleartext_json(remaining)


def tenant_keysets_by_master_key() -> dict[int, int]:
    usage: dict[int, int] = {}
    for encrypted in TenantKeyset.objects.values_list("encrypted_keyset", flat=True).iterator():
        _, _, wrapping_key_id = keysets.encrypted_keyset_info(encrypted)
        usage[wrapping_key_id] = usage.get(wrapping_key_id, 0) + 1
    return usage


def rotate_tenant_key(tenant, *, actor: Actor) -> tuple[int, int, int]:
    """Add a new primary key to `tenant`'s keyset and re-encrypt its credentials under it.

    Returns (old primary, new primary, credential rows re-encrypted). Decrypts keep working
    throughout, because the old key stays in the keyset until `retire_tenant_key` removes it.
    """
    old_primary, new_primary = tenant_keys.rotate(tenant)
    changed = credentials.reencrypt_tenant(tenant, actor=actor)
    record_event(
        tenant,
        "vault.tenant_key_rotated",
        **actor.audit_fields(),
        target_type="tenant",
        target_id=tenant.public_id,
        details={"old": old_primary, "new": new_primary, "reencrypted": changed},
    )
    logger.info(
        "[tenant=%s] rotated tenant key %s -> %s, re-encrypted %s credential(s)",
        tenant.public_id,
        old_primary,
        new_primary,
        changed,
    )
    return old_primary, new_primary, changed


def retire_tenant_key(tenant, key_id: int, *, actor: Actor) -> None:
    """Remove `key_id` from `tenant`'s keyset; raises VaultError while anything uses it."""
    tenant_keys.retire(tenant, key_id)
    record_event(
        tenant,
        "vault.tenant_key_retired",
        **actor.audit_fields(),
        target_type="tenant",
        target_id=tenant.public_id,
        details={"old": key_id},
    )


def key_usage_report() -> KeyUsageReport:
    """Report which master and tenant key ids are in use, read from ciphertext prefixes."""
    handle = master.master_handle()
    report = KeyUsageReport(
        master_key_ids=keysets.key_ids(handle),
        master_primary_key_id=keysets.primary_key_id(handle),
        tenant_keysets_by_master_key=tenant_keysets_by_master_key(),
    )
    for row in TenantKeyset.objects.select_related("tenant").order_by("pk").iterator():
        primary, key_ids, _ = keysets.encrypted_keyset_info(row.encrypted_keyset)
        report.tenants[str(row.tenant.public_id)] = TenantKeyUsage(
            primary_key_id=primary,
            key_ids=key_ids,
            values_by_key=tenant_keys.credential_key_usage(row.tenant),
        )
    return report
