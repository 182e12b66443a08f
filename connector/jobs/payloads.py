"""Encrypting a job's request payload, result and failed batch rows with the tenant's keyset.

The values are JSON documents that hold personal data. Each is encrypted with the tenant's Tink
keyset and associated data naming the tenant, the job and the field, so a ciphertext copied to
another job or field does not decrypt.
"""

import json

import tink
from tink import aead

from connector.job_models import Job
from connector.vault import VaultError, tenant_keys

PAYLOAD = "payload"
RESULT = "result"
FAILED_ROWS = "failed_rows"
FIELDS = (PAYLOAD, RESULT, FAILED_ROWS)


def associated_data(job: Job, field: str) -> bytes:
    return f"connector.job|tenant={job.tenant.public_id}|job={job.public_id}|field={field}".encode()


def encrypt(job: Job, field: str, value, handle: tink.KeysetHandle | None = None) -> bytes:
    """Return the ciphertext of `value` (any JSON-serialisable object) for `job`'s `field`.

    Without `handle`, locks the tenant's keyset row until the caller's transaction ends, so this
    must run inside one. The keyset exists, because the job's connection stored a credential
    with it; VaultError is raised otherwise.
    """
    _check_field(field)
    if handle is None:
        handle = tenant_keys.load_handle(job.tenant, for_encrypt=True)
    plaintext = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return handle.primitive(aead.Aead).encrypt(plaintext, associated_data(job, field))


def decrypt(job: Job, field: str, handle: tink.KeysetHandle | None = None):
    """Return the decrypted JSON value of `job`'s `field`, or None when it is empty or purged.

    Raises VaultError when the ciphertext fails authentication.
    """
    _check_field(field)
    ciphertext = getattr(job, f"{field}_ciphertext")
    if ciphertext is None:
        return None

    if handle is None:
        handle = tenant_keys.load_handle(job.tenant)
    try:
        plaintext = handle.primitive(aead.Aead).decrypt(
            bytes(ciphertext), associated_data(job, field)
        )
    except tink.TinkError:
        raise VaultError(
            f"The stored {field} of job {job.public_id} failed authentication: it was altered, "
            "copied from another job or field, or encrypted with a key that is no longer in the "
            "tenant's keyset."
        ) from None
    return json.loads(plaintext)


def _check_field(field):
    if field not in FIELDS:
        raise ValueError(f"Unknown job field {field!r}: use one of {', '.join(FIELDS)}.")
