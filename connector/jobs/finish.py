"""Recording how a run of a job ended: every write is fenced by the run's claim id.

A worker whose lease expired, and whose job the sweeper handed to another worker, matches no
row here and changes nothing.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connector.actor import Actor
from connector.job_models import Job, JobAttempt
from connector.jobs import dispatch, notify, payloads
from connector.ratelimit import Limit
from tenants.audit import record_event
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 200


class LeaseLost(Exception):
    """The run's claim is no longer current: the sweeper gave the job to another worker, or
    the job was cancelled."""


@dataclass
class JobRun:
    """One claimed run of a job, from claim to recorded outcome."""

    job: Job
    claim_id: object
    attempt: JobAttempt
    actor: Actor
    limits: list[Limit]
    # Whether the grant for the next Keap call was already taken (the pump takes the first).
    token_ready: bool = True
    started: float = field(default_factory=time.monotonic)
    # time.monotonic() of the claim or the last lease renewal.
    lease_renewed: float = field(default_factory=time.monotonic)
    keap_status: int | None = None

    @property
    def duration_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)

    def claimed_rows(self):
        return Job.objects.filter(pk=self.job.pk, claim_id=self.claim_id, status=Job.Status.RUNNING)


def short_error(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) <= MAX_ERROR_LENGTH:
        return text
    return text[: MAX_ERROR_LENGTH - 1] + "…"


def succeed(run: JobRun, result) -> bool:
    """Store the encrypted result and mark the job succeeded; return False if the claim is lost."""
    now = timezone.now()
    with transaction.atomic():
        ciphertext = payloads.encrypt(run.job, payloads.RESULT, result)
        changed = run.claimed_rows().update(
            status=Job.Status.SUCCEEDED,
            finished_at=now,
            lease_until=None,
            claim_id=None,
            keap_status=run.keap_status,
            error_code="",
            error="",
            result_ciphertext=ciphertext,
        )
        if not changed:
            return False
        _finish_attempt(run, JobAttempt.Outcome.SUCCEEDED, now)
        _audit_finished(run, "job.succeeded", AuditEvent.Outcome.SUCCESS, {})
        notify.announce_finished(run.job)

    _log_finished(run, "succeeded")
    return True


def finish_unsuccessfully(
    run: JobRun, status: str, error_code: str, message: str, *, result=None
) -> bool:
    """End the job `failed`, `cancelled` or `outcome_unknown` with a message for the site owner.

    `result` (a batch's summary so far) is stored encrypted when given. Returns False if the
    claim is lost.
    """
    outcome = {
        Job.Status.FAILED: JobAttempt.Outcome.FAILED,
        Job.Status.CANCELLED: JobAttempt.Outcome.CANCELLED,
        Job.Status.OUTCOME_UNKNOWN: JobAttempt.Outcome.OUTCOME_UNKNOWN,
    }[status]
    message = short_error(message)
    now = timezone.now()
    with transaction.atomic():
        values = {
            "status": status,
            "finished_at": now,
            "lease_until": None,
            "claim_id": None,
            "keap_status": run.keap_status,
            "error_code": error_code,
            "error": message,
        }
        if result is not None:
            values["result_ciphertext"] = payloads.encrypt(run.job, payloads.RESULT, result)
        if not run.claimed_rows().update(**values):
            return False
        _finish_attempt(run, outcome, now, error_code=error_code, error=message)
        action = "job.cancelled" if status == Job.Status.CANCELLED else "job.failed"
        details = {"error_code": error_code, "status": status}
        _audit_finished(run, action, AuditEvent.Outcome.FAILURE, details)
        notify.announce_finished(run.job)

    _log_finished(run, f"{status} ({error_code})")
    return True


def put_back(
    run: JobRun,
    *,
    delay: float,
    counted: bool,
    outcome: str,
    error_code: str = "",
    message: str = "",
) -> bool:
    """Return the job to `queued`, to run again in `delay` seconds; return False if the claim
    is lost.

    `counted=False` takes the try off `attempts`: a 429, a long rate-limit wait, or a batch
    chunk that ended on time. The job keeps the last error so a client sees why it waits.
    """
    now = timezone.now()
    not_before = now + timedelta(seconds=delay)
    with transaction.atomic():
        values = {
            "status": Job.Status.QUEUED,
            "not_before": not_before,
            "lease_until": None,
            "claim_id": None,
            "lease_owner": "",
            "dispatched_at": None,
            "keap_status": run.keap_status,
            "error_code": error_code,
            "error": short_error(message),
        }
        if not counted:
            values["attempts"] = F("attempts") - 1
        if not run.claimed_rows().update(**values):
            return False
        _finish_attempt(run, outcome, now, error_code=error_code, error=short_error(message))
        if delay > 0:
            job_pk = run.job.pk
            transaction.on_commit(lambda: dispatch.schedule_dispatch(job_pk, delay))
        else:
            dispatch.dispatch_on_commit(run.job)

    logger.info(
        "[job=%s tenant=%s] %s, runs again in %.1fs%s",
        run.job.public_id,
        run.job.tenant.public_id,
        outcome,
        delay,
        f" ({error_code})" if error_code else "",
    )
    return True


def _finish_attempt(run, outcome, now, *, error_code="", error=""):
    JobAttempt.objects.filter(pk=run.attempt.pk).update(
        outcome=outcome,
        finished_at=now,
        keap_status=run.keap_status,
        duration_ms=run.duration_ms,
        error_code=error_code,
        error=error,
    )


def _audit_finished(run, action, outcome, extra):
    job = run.job
    details = {
        "method": job.method,
        "path_template": job.path_template,
        "operation_id": job.operation_id,
        "keap_status": run.keap_status,
        "duration_ms": run.duration_ms,
        "attempt": run.attempt.number,
        **extra,
    }
    if job.kind == Job.Kind.BATCH_UPSERT:
        job.refresh_from_db(fields=["progress_done", "progress_failed"])
        details["rows_done"] = job.progress_done
        details["rows_failed"] = job.progress_failed
    record_event(
        job.tenant,
        action,
        **run.actor.audit_fields(),
        target_type="job",
        target_id=job.public_id,
        outcome=outcome,
        details=details,
    )


def _log_finished(run, what):
    job = run.job
    logger.info(
        "[job=%s tenant=%s] %s %s %s in %sms, attempt %s",
        job.public_id,
        job.tenant.public_id,
        job.operation_summary,
        what,
        run.keap_status or "-",
        run.duration_ms,
        run.attempt.number,
    )
