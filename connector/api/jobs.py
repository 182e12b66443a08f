"""The client API's jobs: how a job is shown, how endpoints accept one, and GET /jobs/{id}.

Every endpoint that reaches Keap creates a job and returns 202 with it at once. The client reads
the outcome from `GET /api/v1/jobs/{id}`, optionally waiting up to 30 seconds for it.
"""

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.http import HttpResponse
from django.urls import reverse
from ninja import Field as SchemaField
from ninja import Query, Router, Schema, Status

from connector.actor import Actor
from connector.api import Problem
from connector.api.auth import check_site_rate_limit, require_active_connection
from connector.api.problems import ApiProblem, retry_after_header
from connector.jobs import payloads
from connector.jobs.create import IdempotencyKeyReused, NewJob, create_job
from connector.jobs.wait import MAX_WAIT_SECONDS, wait_for_job
from connector.models import Job
from connector.vault import VaultError
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)

router = Router(tags=["jobs"])

IDEMPOTENCY_HEADER = "Idempotency-Key"
# Retry-After, in seconds, sent when the job row could not be written.
QUEUE_UNAVAILABLE_RETRY_SECONDS = 5
# Retry-After, in seconds, sent when every wait slot of the process is taken.
WAIT_BUSY_RETRY_SECONDS = 1


class OperationOut(Schema):
    method: str
    path_template: str
    operation_id: str


class JobErrorOut(Schema):
    code: str
    message: str


class ProgressOut(Schema):
    total: int
    done: int
    created: int
    updated: int
    failed: int


class JobLinksOut(Schema):
    self: str


class JobOut(Schema):
    id: uuid.UUID
    kind: str
    status: str
    operation: OperationOut
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    keap_status: int | None
    error: JobErrorOut | None
    progress: ProgressOut | None
    result: Any = SchemaField(
        None, description="The outcome, once the job succeeded; null after the retention period."
    )
    failed_rows: list[dict] | None = None
    result_purged: bool
    links: JobLinksOut


def job_url(job: Job) -> str:
    return reverse("api:job_detail", kwargs={"job_id": job.public_id})


def job_document(job: Job, *, with_result: bool) -> dict:
    """Return the JSON form of `job`; `with_result` adds its decrypted result and failed rows."""
    document = {
        "id": job.public_id,
        "kind": job.kind,
        "status": job.status,
        "operation": {
            "method": job.method,
            "path_template": job.path_template,
            "operation_id": job.operation_id,
        },
        "attempts": job.attempts,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "keap_status": job.keap_status,
        "error": {"code": job.error_code, "message": job.error} if job.error_code else None,
        "progress": None,
        "result": None,
        "failed_rows": None,
        "result_purged": job.result_purged_at is not None,
        "links": {"self": job_url(job)},
    }
    if job.kind == Job.Kind.BATCH_UPSERT:
        document["progress"] = {
            "total": job.progress_total,
            "done": job.progress_done,
            "created": job.progress_created,
            "updated": job.progress_updated,
            "failed": job.progress_failed,
        }
    if with_result:
        document["result"] = payloads.decrypt(job, payloads.RESULT)
        document["failed_rows"] = payloads.decrypt(job, payloads.FAILED_ROWS)
    return document


def site_actor(site) -> Actor:
    return Actor(AuditEvent.ActorType.CLIENT_SITE, str(site.public_id), site.name)


def accept_job(request, response: HttpResponse, new_job: NewJob):
    """Create the job for an API request and return its document with the status.

    202 for a new job, 200 with the first job for a repeated Idempotency-Key and body. Raises
    ApiProblem 409 `idempotency_key_reused` for the same key with another body, 422 for an
    overlong key, 409 `connection_needs_reauth`, and 503 `queue_unavailable` only when the job
    row cannot be written. A Redis or broker outage does not fail the request: the job is
    accepted and the sweeper dispatches it.
    """
    require_active_connection(request)
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    try:
        job, created = create_job(
            new_job,
            connection=request.connection,
            actor=site_actor(request.site),
            site=request.site,
            idempotency_key=key,
            request=request,
        )
    except IdempotencyKeyReused:
        raise ApiProblem(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was already used in the last 24 hours for a different request. "
            "Use a new key for a new request.",
        )
    except ValueError as exc:
        raise ApiProblem(422, "invalid_input", str(exc))
    except DatabaseError:
        logger.exception("[site=%s] job not written", request.site.public_id)
        raise ApiProblem(
            503,
            "queue_unavailable",
            "The request could not be queued. Wait for the number of seconds in Retry-After, "
            "then retry.",
            retry_after_header(QUEUE_UNAVAILABLE_RETRY_SECONDS),
        )

    response["Location"] = job_url(job)
    return Status(202 if created else 200, job_document(job, with_result=False))


@router.get(
    "/jobs/{job_id}",
    response={200: JobOut, 401: Problem, 403: Problem, 404: Problem, 429: Problem},
    url_name="job_detail",
    summary="Read a job's status and result",
)
def get_job(
    request,
    job_id: str,
    response: HttpResponse,
    wait: float = Query(
        0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Seconds (up to 30) to wait for the job to finish before responding.",
    ),
):
    """Return the job with its attempts, timing, progress and, once it succeeded, its result.

    Only the site that created a job can read it; another site's or tenant's job is 404. With
    `wait`, the request waits until the job finishes or the time is up. Each web process lets
    API_MAX_WAITERS requests (default 16) wait at once; beyond that the job is returned at once
    with `Retry-After: 1`.
    """
    check_site_rate_limit(request)
    job = _site_job(request, job_id)

    job, waited = wait_for_job(job, wait)
    if not waited:
        response["Retry-After"] = str(WAIT_BUSY_RETRY_SECONDS)
    try:
        return Status(200, job_document(job, with_result=True))
    except VaultError:
        logger.exception("[job=%s] result does not decrypt", job.public_id)
        raise ApiProblem(500, "internal_error")


def _site_job(request, job_id):
    try:
        public_id = uuid.UUID(job_id)
    except ValueError:
        raise ApiProblem(404, "not_found")
    job = (
        Job.objects.for_tenant(request.tenant)
        .filter(public_id=public_id, site=request.site)
        .select_related("tenant")
        .first()
    )
    if job is None:
        raise ApiProblem(404, "not_found")
    return job
