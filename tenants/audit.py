"""Writing a tenant's audit log: an append-only hash chain of events.

Each event stores the SHA-256 of its canonical form, which includes the previous event's hash,
so an edited, removed or reordered event breaks every hash after it.
"""

import hashlib
import ipaddress
import json

from django.db import transaction
from django.utils import timezone

from config.request_log import current_request_id
from connector.keyformats import redact
from tenants.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "source_ip",
    "user_agent",
    "details",
    "previous_hash",
)


def canonical_form(tenant_public_id, values):
    """Return the bytes that an event's hash covers."""
    document = {name: values[name] for name in HASHED_FIELDS}
    document["tenant"] = str(tenant_public_id)
    document["created_at"] = values["created_at"].isoformat(timespec="microseconds")
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(tenant_public_id, values):
    return hashlib.sha256(canonical_form(tenant_public_id, values)).hexdigest()


def record_event(
    tenant,
    action,
    *,
    actor_type,
    actor_id="",
    actor_label="",
    target_type="",
    target_id="",
    outcome=AuditEvent.Outcome.SUCCESS,
    details=None,
    request=None,
    request_id=None,
):
    """Append one event to `tenant`'s chain and return it.

    Runs in the caller's transaction when there is one, so the event commits or rolls back with
    the change it records. `details` must hold no secret; string values are passed through the
    log redaction patterns as a second line of defence.
    """
    details = _redact_details(details or {})
    source_ip, user_agent = _request_origin(request)
    if request_id is None:
        request_id = getattr(request, "request_id", None) or current_request_id.get()

    # No savepoint: an event that fails to write must fail the change it records anyway.
    with transaction.atomic(savepoint=False):
        head = _locked_head(tenant)
        values = {
            "sequence": head.last_sequence + 1,
            "created_at": timezone.now(),
            "actor_type": actor_type,
            "actor_id": str(actor_id),
            "action": action,
            "target_type": target_type,
            "target_id": str(target_id),
            "outcome": outcome,
            "request_id": "" if request_id == "-" else request_id,
            "source_ip": source_ip,
            "user_agent": user_agent,
            "details": details,
            "previous_hash": head.last_hash or GENESIS_HASH,
        }
        values["hash"] = compute_hash(tenant.public_id, values)
        event = AuditEvent.objects.create(tenant=tenant, actor_label=actor_label, **values)

        head.last_sequence = event.sequence
        head.last_hash = event.hash
        head.save(update_fields=["last_sequence", "last_hash"])
    return event


def _locked_head(tenant):
    """Return the tenant's chain head locked until the transaction ends, creating it first."""
    head = AuditChainHead.objects.select_for_update().filter(tenant=tenant).first()
    if head is None:
        AuditChainHead.objects.get_or_create(tenant=tenant)
        head = AuditChainHead.objects.select_for_update().get(tenant=tenant)
    return head


def _request_origin(request):
    if request is None:
        return None, ""
    return _normalise_ip(request.META.get("REMOTE_ADDR")), request.headers.get("User-Agent", "")[
        :300
    ]


def _normalise_ip(value):
    """Return the address in the form the database returns, so the stored hash still matches."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _redact_details(value):
    if isinstance(value, dict):
        return {str(key): _redact_details(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_details(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value
