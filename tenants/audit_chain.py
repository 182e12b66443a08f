"""Checking a tenant's audit chain, and the checkpoints kept outside the database.

A checkpoint records the latest sequence number and hash of each tenant's chain in an
append-only file (AUDIT_CHECKPOINT_PATH). Someone who rewrites the whole chain in the database,
hashes included, still cannot make it match a checkpoint written before the rewrite.
"""

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tenants.audit import GENESIS_HASH, compute_hash
from tenants.models import AuditChainHead, AuditEvent, Tenant

logger = logging.getLogger(__name__)

VERIFY_CHUNK_SIZE = 2000


@dataclass
class ChainFault:
    """The first problem found in one tenant's chain."""

    tenant_public_id: str
    sequence: int
    kind: str
    message: str

    def __str__(self):
        return (
            f"tenant {self.tenant_public_id}: {self.kind} at sequence {self.sequence}: "
            f"{self.message}"
        )


def checkpoint_path():
    return Path(getattr(settings, "AUDIT_CHECKPOINT_PATH", "") or "")


def verify_tenant(tenant, checkpoint=None):
    """Check one tenant's chain from its recorded start; return the first ChainFault or None.

    Finds an edited event, whose hash no longer matches its content, and a removed or inserted
    event, which leaves a gap in the sequence or a broken link to the previous hash. Finds a cut
    tail too: fewer events than the chain head or the last checkpoint records.
    """
    head = AuditChainHead.objects.filter(tenant=tenant).first()
    expected_sequence = head.start_sequence if head else 1
    previous_hash = head.start_previous_hash if head else GENESIS_HASH
    tenant_id = str(tenant.public_id)

    events = (
        AuditEvent.objects.filter(tenant=tenant, sequence__gte=expected_sequence)
        .order_by("sequence")
        .values()
        .iterator(chunk_size=VERIFY_CHUNK_SIZE)
    )
    for event in events:
        if event["sequence"] != expected_sequence:
            return ChainFault(
                tenant_id,
                expected_sequence,
                "gap",
                f"events {expected_sequence} to {event['sequence'] - 1} are missing",
            )
        if event["previous_hash"] != previous_hash:
            return ChainFault(
                tenant_id, expected_sequence, "broken link", "previous_hash does not match"
            )
        if compute_hash(tenant.public_id, event) != event["hash"]:
            return ChainFault(
                tenant_id, expected_sequence, "edited", "the stored hash does not match"
            )
        previous_hash = event["hash"]
        expected_sequence += 1

    last_sequence = expected_sequence - 1
    if head and head.last_sequence > last_sequence:
        return ChainFault(
            tenant_id,
            last_sequence + 1,
            "cut tail",
            f"the chain head records {head.last_sequence} events, the log ends at {last_sequence}",
        )
    if checkpoint and checkpoint["sequence"] > last_sequence:
        return ChainFault(
            tenant_id,
            last_sequence + 1,
            "cut tail",
            f"checkpoint of {checkpoint['at']} records sequence {checkpoint['sequence']}, "
            f"the log ends at {last_sequence}",
        )
    if checkpoint:
        return _compare_with_checkpoint(tenant, checkpoint)
    return None


def _compare_with_checkpoint(tenant, checkpoint):
    event = AuditEvent.objects.filter(tenant=tenant, sequence=checkpoint["sequence"]).first()
    if event is None:
        # The event was pruned by retention after the checkpoint; the chain start vouches for it.
        return None
    if event.hash != checkpoint["hash"]:
        return ChainFault(
            str(tenant.public_id),
            checkpoint["sequence"],
            "rewritten",
            f"the hash differs from the checkpoint of {checkpoint['at']}",
        )
    return None


def read_checkpoints(path=None):
    """Return the latest checkpoint per tenant public id from the checkpoint file."""
    path = Path(path or checkpoint_path())
    latest = {}
    if not path.name or not path.exists():
        return latest

    with path.open() as lines:
        for line in lines:
            if line.strip():
                entry = json.loads(line)
                latest[entry["tenant"]] = entry
    return latest


def write_checkpoint(path=None):
    """Append the current head of every tenant's chain to the checkpoint file.

    Returns the number of tenants written. The file is only appended to, so old checkpoints
    stay as evidence.
    """
    path = Path(path or checkpoint_path())
    if not path.name:
        logger.warning("audit checkpoint skipped: AUDIT_CHECKPOINT_PATH is not set")
        return 0

    path.parent.mkdir(parents=True, exist_ok=True)
    now = timezone.now().isoformat()
    heads = AuditChainHead.objects.select_related("tenant").filter(last_sequence__gt=0)
    count = 0
    with path.open("a") as output:
        for head in heads.iterator():
            entry = {
                "tenant": str(head.tenant.public_id),
                "sequence": head.last_sequence,
                "hash": head.last_hash,
                "at": now,
            }
            output.write(json.dumps(entry, sort_keys=True) + "\n")
            count += 1
    logger.info("audit checkpoint written for %s tenants to %s", count, path)
    return count


def verify_all(tenants=None, checkpoints=None):
    """Verify every tenant (or the given ones); return a list of ChainFaults, empty when sound."""
    if checkpoints is None:
        checkpoints = read_checkpoints()
    if tenants is None:
        tenants = Tenant.objects.order_by("pk").iterator()

    faults = []
    for tenant in tenants:
        fault = verify_tenant(tenant, checkpoints.get(str(tenant.public_id)))
        if fault:
            faults.append(fault)
    return faults


@contextmanager
def audit_maintenance():
    """Allow UPDATE and DELETE of audit rows inside this block's transaction only.

    Retention and tenant deletion use it; the database trigger rejects such changes otherwise.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('portal.audit_maintenance', 'on', true)")
        yield


def prune_tenant(tenant, before, export_file):
    """Export and delete `tenant`'s events created before `before`; return how many.

    The events go to `export_file` (an open text file) as JSON Lines first. The chain head then
    records the sequence and previous hash where the remaining chain starts, so it still
    verifies. Sequence numbers grow with time, so the removed events are a prefix of the chain.
    """
    with audit_maintenance():
        head = AuditChainHead.objects.select_for_update().filter(tenant=tenant).first()
        if head is None:
            return 0

        old_events = AuditEvent.objects.filter(tenant=tenant, created_at__lt=before)
        last_removed = old_events.order_by("-sequence").values("sequence", "hash").first()
        if last_removed is None:
            return 0

        for event in old_events.order_by("sequence").values().iterator(chunk_size=2000):
            export_file.write(json.dumps(event, default=str, sort_keys=True) + "\n")

        removed, _ = AuditEvent.objects.filter(
            tenant=tenant, sequence__lte=last_removed["sequence"]
        ).delete()
        head.start_sequence = last_removed["sequence"] + 1
        head.start_previous_hash = last_removed["hash"]
        head.save(update_fields=["start_sequence", "start_previous_hash"])
    logger.info(
        "[tenant=%s] audit retention removed %s events up to sequence %s",
        tenant.public_id,
        removed,
        last_removed["sequence"],
    )
    return removed
