"""Creating a job: the row, its encrypted payload and its audit event in one transaction."""

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from connector.actor import Actor
from connector.job_models import Job
from connector.jobs import config, payloads
from connector.jobs.dispatch import dispatch_on_commit
from connector.jobs.operations import UPSERT_CONTACT
from connector.scopes import Operation
from tenants.audit import record_event

logger = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_LENGTH = 255


class IdempotencyKeyReused(Exception):
    """The Idempotency-Key was already used, within its lifetime, for a different request."""

    def __init__(self, job: Job):
        super().__init__(f"Idempotency key already used for job {job.public_id}.")
        self.job = job


@dataclass(frozen=True)
class NewJob:
    """The work a job will do. `payload` is the request in the form its kind's runner reads."""

    kind: str
    operation: Operation
    payload: dict
    # Rows of a batch, for its progress counters.
    total: int = 0


def request_job(operation: Operation, path: str, query=None, body=None) -> NewJob:
    """Describe one Keap request; `path` is `operation`'s template with its ids filled in."""
    payload = {"method": operation.method, "path": path, "query": query or {}, "body": body}
    return NewJob(Job.Kind.REQUEST, operation, payload)


def upsert_contact_job(contact: dict, tag_ids=()) -> NewJob:
    """Describe a contact upsert by email; `contact` is a Keap v1 contact body
    (`connector.jobs.contacts.keap_contact_body`), and the tags are applied after it."""
    payload = {"contact": contact, "tag_ids": [int(tag_id) for tag_id in tag_ids]}
    return NewJob(Job.Kind.UPSERT_CONTACT, UPSERT_CONTACT, payload)


def batch_upsert_job(rows) -> NewJob:
    """Describe a batch of contact upserts; each row is {"contact": ..., "tag_ids": [...]}.

    Raises ValueError for an empty batch or one over JOB_MAX_BATCH_ROWS.
    """
    rows = [
        {"contact": row["contact"], "tag_ids": [int(tag_id) for tag_id in row.get("tag_ids", ())]}
        for row in rows
    ]
    if not rows or len(rows) > config.max_batch_rows():
        raise ValueError(
            f"Invalid batch of {len(rows)} contacts: send 1 to {config.max_batch_rows()}."
        )
    return NewJob(Job.Kind.BATCH_UPSERT, UPSERT_CONTACT, {"rows": rows}, total=len(rows))


def request_hash(new_job: NewJob) -> str:
    """Return an HMAC-SHA256 of the request, for telling a repeated request from another one.

    Keyed by SECRET_KEY so the stored hash cannot confirm a guess of the personal data in it.
    """
    document = {
        "kind": new_job.kind,
        "operation": str(new_job.operation),
        "payload": new_job.payload,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return salted_hmac("connector.job.request", canonical, algorithm="sha256").hexdigest()


def create_job(
    new_job: NewJob,
    *,
    connection,
    actor: Actor,
    site=None,
    created_by=None,
    idempotency_key: str = "",
    request=None,
) -> tuple[Job, bool]:
    """Create a queued job and its `job.created` audit event; dispatch it after commit.

    Returns (job, created). An `idempotency_key` that the same site used within
    JOB_IDEMPOTENCY_HOURS returns that first job and False when the request is the same, and
    raises IdempotencyKeyReused when it differs. Database errors propagate, and the API responds
    503 to them, because a job that was not written was not accepted.
    """
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(
            f"Invalid Idempotency-Key: it is {len(idempotency_key)} characters long and the "
            f"maximum is {MAX_IDEMPOTENCY_KEY_LENGTH}."
        )
    tenant = connection.tenant
    digest = request_hash(new_job) if idempotency_key else ""

    try:
        with transaction.atomic():
            if idempotency_key:
                existing = _live_job_for_key(tenant, site, idempotency_key)
                if existing is not None:
                    return _repeat(existing, digest), False
            job = _insert(new_job, tenant, connection, site, created_by, idempotency_key, digest)
            _record_created(job, actor, request)
            dispatch_on_commit(job)
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key inserted first, so its job is returned.
        existing = _live_job_for_key(tenant, site, idempotency_key)
        if existing is None:
            raise
        return _repeat(existing, digest), False

    logger.info(
        "[job=%s tenant=%s] created %s %s",
        job.public_id,
        tenant.public_id,
        job.kind,
        job.operation_summary,
    )
    return job, True


def _live_job_for_key(tenant, site, idempotency_key):
    """Return the job holding the key, after clearing the key from a job whose time is up."""
    now = timezone.now()
    rows = Job.objects.for_tenant(tenant).filter(site=site, idempotency_key=idempotency_key)
    rows.filter(idempotency_expires_at__lte=now).update(idempotency_key="")
    return rows.filter(idempotency_expires_at__gt=now).select_related("tenant").first()


def _repeat(existing, digest):
    if existing.request_hash != digest:
        raise IdempotencyKeyReused(existing)
    return existing


def _insert(new_job, tenant, connection, site, created_by, idempotency_key, digest):
    now = timezone.now()
    job = Job(
        tenant=tenant,
        site=site,
        connection=connection,
        created_by=created_by,
        kind=new_job.kind,
        method=new_job.operation.method,
        path_template=new_job.operation.path,
        operation_id=new_job.operation.operation_id,
        not_before=now,
        progress_total=new_job.total,
        idempotency_key=idempotency_key,
        idempotency_expires_at=(
            now + timedelta(hours=config.idempotency_hours()) if idempotency_key else None
        ),
        request_hash=digest,
    )
    job.payload_ciphertext = payloads.encrypt(job, payloads.PAYLOAD, new_job.payload)
    # A savepoint, so a duplicate key rolls back only this insert.
    with transaction.atomic():
        job.save()
    return job


def _record_created(job, actor, request):
    record_event(
        job.tenant,
        "job.created",
        **actor.audit_fields(),
        target_type="job",
        target_id=job.public_id,
        details={
            "kind": job.kind,
            "method": job.method,
            "path_template": job.path_template,
            "operation_id": job.operation_id,
            "connection": str(job.connection.public_id),
            "site": str(job.site.public_id) if job.site else None,
            "rows": job.progress_total or None,
        },
        request=request,
    )
