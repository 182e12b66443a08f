"""The master keyset, which wraps every tenant's keyset.

It comes from VAULT_MASTER_KEYSET (or VAULT_MASTER_KEYSET_FILE), a cleartext Tink JSON keyset
that may hold several keys: the primary one wraps, and any of them unwraps. In test mode an empty
setting makes this module generate an ephemeral keyset once per process.
"""

import logging
import threading

import tink
from django.conf import settings
from tink import aead

from connector.vault import keysets
from connector.vault.errors import VaultError

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_handles: dict[str, tink.KeysetHandle] = {}
_ephemeral_json = ""


def master_keyset_json() -> str:
    """Return the configured master keyset, or this process's ephemeral one in test mode."""
    global _ephemeral_json

    configured = settings.VAULT_MASTER_KEYSET
    if configured:
        return configured
    if settings.PORTAL_MODE != "test":
        raise VaultError(
            "Missing VAULT_MASTER_KEYSET: set it (or VAULT_MASTER_KEYSET_FILE) to a keyset made "
            "by `manage.py vault_generate_master`."
        )

    with _lock:
        if not _ephemeral_json:
            _ephemeral_json = keysets.generate_master_keyset_json()
            logger.warning(
                "VAULT_MASTER_KEYSET is empty in test mode: generated an ephemeral master keyset "
                "for this process; anything it wraps is unreadable once the process exits."
            )
    return _ephemeral_json


def master_handle() -> tink.KeysetHandle:
    """Return the parsed master keyset, parsed once per process for each distinct value."""
    keyset_json = master_keyset_json()
    handle = _handles.get(keyset_json)
    if handle is not None:
        return handle

    try:
        handle = keysets.parse_cleartext_json(keyset_json)
    except keysets.KeysetError as exc:
        raise VaultError(f"VAULT_MASTER_KEYSET is not a valid Tink keyset: {exc}") from None

    with _lock:
        _handles[keyset_json] = handle
    return handle


def master_aead() -> aead.Aead:
    return master_handle().primitive(aead.Aead)


def master_primary_key_id() -> int:
    return keysets.primary_key_id(master_handle())
