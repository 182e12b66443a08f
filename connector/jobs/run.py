"""The worker side of jobs: the pump that takes jobs fairly, the claim, and the run itself.

A pump task repeats, for up to JOB_PUMP_SECONDS:
1. pop the next job id from the fair queue (round-robin across tenants);
2. skip it quietly if it is no longer queued (cancelled, or run through a duplicate push);
3. end it at once if its connection is no longer active;
4. take a rate-limit grant for its first Keap call. A wait of up to JOB_SHORT_WAIT_SECONDS is
   slept through. A longer one puts the job back at the front of its tenant's list, and the
   pump serves the other tenants and schedules a wake-up for when the limit frees up;
5. claim the job with a conditional update (`queued` to `running`, a new claim id, a lease).
   When no row is updated, another worker has the job and the pump moves on;
6. run it and record the outcome, fenced by the claim id.
The grant is taken before the claim so that a job denied by the limiter needs no database
write; a claim that then fails (rare: a duplicate push) wastes one grant.
"""

import logging
import math
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from connector.actor import SYSTEM, Actor
from connector.job_models import Job, JobAttempt
from connector.jobs import config, dispatch, execute, notify, payloads, retry
from connector.jobs.finish import JobRun, LeaseLost, finish_unsuccessfully, put_back, succeed
from connector.jobs.messages import job_error_messages
from connector.jobs.operations import is_repeatable
from connector.keap.errors import ConnectorError, error_messages
from connector.models import Connection
from connector.ratelimit import Limit, limits_for_call
from connector.vault import VaultError
from tenants.audit import record_event
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)

LEASE_OWNER = f"{socket.gethostname()}:{os.getpid()}"[:100]

# Wait before retrying a pump step that failed because Redis was unreachable.
REDIS_DOWN_RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class RunResult:
    """The outcome of `run_one`: `ran` when the job was claimed and run, `denied` when the
    limiter requested a wait of `retry_after` seconds."""

    ran: bool = False
    denied: bool = False
    retry_after: float = 0.0


def pump(budget_seconds: float | None = None) -> int:
    """Run queued jobs in fair order and return how many ran.

    Stops when the queue is empty, when every waiting tenant is blocked by a rate limit, or
    when the time budget is used up.
    """
    queue = dispatch.job_queue()
    deadline = time.monotonic() + (budget_seconds or config.pump_seconds())
    denied: dict[str, float] = {}
    ran = 0

    while True:
        if time.monotonic() >= deadline:
            _hand_over(queue)
            break
        try:
            popped = queue.pop()
        except dispatch.DISPATCH_ERRORS as exc:
            logger.warning("fair queue unreachable, pump stops: %s", exc)
            break
        if popped is None:
            break

        tenant_key, job_key = popped
        if tenant_key in denied:
            _requeue(queue, tenant_key, job_key)
            if _all_blocked(queue, denied):
                break
            continue

        result = run_one(int(job_key))
        if not result.denied:
            ran += int(result.ran)
            continue
        _requeue(queue, tenant_key, job_key)
        denied[tenant_key] = result.retry_after
        if _all_blocked(queue, denied):
            break

    if denied:
        dispatch.schedule_wakeup(min(denied.values()))
    return ran


def run_one(job_pk: int) -> RunResult:
    """Take a grant for one job, claim it and run it; see the module docstring."""
    job = Job.objects.select_related("tenant", "connection", "site").filter(pk=job_pk).first()
    if job is None or job.status != Job.Status.QUEUED:
        return RunResult()

    wait = (job.not_before - timezone.now()).total_seconds()
    if wait > 0:
        # Pushed early (by the sweeper or a duplicate push): come back when it is due.
        dispatch.schedule_dispatch(job.pk, wait)
        return RunResult()

    if job.connection.status != Connection.Status.ACTIVE:
        _end_queued_for_connection(job)
        return RunResult()

    try:
        limits = limits_for_job(job)
        decision = execute.take_token(limits, max_wait=config.short_wait_seconds())
    except ConnectorError as exc:
        _end_queued(job, Job.Status.FAILED, exc.code, exc.message)
        return RunResult()
    except dispatch.DISPATCH_ERRORS as exc:
        logger.warning("[job=%s] rate limiter unreachable: %s", job.public_id, exc)
        return RunResult(denied=True, retry_after=REDIS_DOWN_RETRY_SECONDS)
    if not decision.allowed:
        return RunResult(denied=True, retry_after=decision.retry_after)

    run = claim(job, limits)
    if run is None:
        logger.info("[job=%s] already claimed or cancelled; its grant goes unused", job.public_id)
        return RunResult()
    execute_run(run)
    return RunResult(ran=True)


def limits_for_job(job: Job) -> list[Limit]:
    """Return the rate-limit windows of one Keap call of `job`.

    For OAuth it adds a per-second pacing window of 1/60 of the client's per-minute limit.
    Every tenant shares the OAuth client's minute, and without pacing one tenant's backlog
    could take the whole minute in its first seconds, making every other tenant wait for the
    minute to roll over instead of for the next second.
    """
    connection = job.connection
    client_id = None
    if connection.method == Connection.Method.OAUTH:
        client_id = getattr(settings, "KEAP_CLIENT_ID", "")
        if not client_id:
            raise ConnectorError("oauth_not_configured", permanent=True)
    # A PAT or SAK is counted under its connection, which has one key at a time. A reconnect
    # with a new key keeps the old key's count for up to a day, which only errs on the safe side.
    limits = limits_for_call(
        str(connection.public_id),
        connection.method,
        client_id=client_id,
        account_id=connection.keap_tenant_id or None,
    )

    for limit in list(limits):
        if limit.subject == "client" and limit.window == "minute":
            limits.append(
                Limit(
                    key=f"{limit.key}:pace",
                    limit=math.ceil(limit.limit / 60),
                    period=limit.period / 60,
                    subject="client",
                    window="pace",
                )
            )
    return limits


def claim(job: Job, limits: list[Limit]) -> JobRun | None:
    """Claim a queued, due job for this worker, or return None when another worker has it."""
    claim_id = uuid.uuid4()
    now = timezone.now()
    claimed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED, not_before__lte=now).update(
        status=Job.Status.RUNNING,
        claim_id=claim_id,
        lease_until=now + timedelta(seconds=config.lease_seconds()),
        lease_owner=LEASE_OWNER,
        attempts=F("attempts") + 1,
        runs=F("runs") + 1,
        started_at=Coalesce(F("started_at"), Value(now)),
    )
    if not claimed:
        return None

    job.refresh_from_db()
    attempt = JobAttempt.objects.create(tenant=job.tenant, job=job, number=job.runs, started_at=now)
    return JobRun(job=job, claim_id=claim_id, attempt=attempt, actor=actor_for(job), limits=limits)


def actor_for(job: Job) -> Actor:
    """Return who the job acts for in the audit log: its client site, its user or the system."""
    if job.site is not None:
        return Actor(AuditEvent.ActorType.CLIENT_SITE, str(job.site.public_id), job.site.name)
    if job.created_by is not None:
        return Actor.for_user(job.created_by)
    return SYSTEM


def execute_run(run: JobRun) -> None:
    """Run a claimed job to its next recorded state: finished, or queued again."""
    job = run.job
    payload = None
    try:
        payload = payloads.decrypt(job, payloads.PAYLOAD)
        if job.kind == Job.Kind.BATCH_UPSERT:
            _run_batch(run, payload)
        elif job.kind == Job.Kind.UPSERT_CONTACT:
            succeed(run, execute.run_upsert_contact(run, payload))
        else:
            succeed(run, execute.run_request(run, payload))
    except LeaseLost as exc:
        logger.warning("[job=%s] stopped: %s", job.public_id, exc)
    except execute.TokenWait as wait:
        put_back(
            run, delay=wait.retry_after, counted=False, outcome=JobAttempt.Outcome.RATE_LIMITED
        )
    except ConnectorError as exc:
        _handle_error(run, exc, payload)
    except VaultError as exc:
        logger.error("[job=%s tenant=%s] %s", job.public_id, job.tenant.public_id, exc)
        finish_unsuccessfully(run, Job.Status.FAILED, "vault_error", error_messages["vault_error"])
    except Exception:
        logger.exception("[job=%s tenant=%s] crashed", job.public_id, job.tenant.public_id)
        finish_unsuccessfully(
            run, Job.Status.FAILED, "internal_error", job_error_messages["internal_error"]
        )


def _run_batch(run, payload):
    progress = execute.run_batch_chunk(run, payload)
    if progress.finished:
        succeed(run, execute.batch_summary(run.job))
    else:
        put_back(run, delay=0, counted=False, outcome=JobAttempt.Outcome.CONTINUED)


def _handle_error(run: JobRun, error: ConnectorError, payload) -> None:
    job = run.job
    repeatable = job.kind != Job.Kind.REQUEST or is_repeatable(
        job.method, job.operation_id, payload.get("query")
    )
    rate_limited_tries = JobAttempt.objects.filter(
        job=job, outcome=JobAttempt.Outcome.RATE_LIMITED
    ).count()
    decision = retry.decide(
        error, repeatable=repeatable, attempts=job.attempts, rate_limited_tries=rate_limited_tries
    )
    summary = execute.batch_summary(job) if job.kind == Job.Kind.BATCH_UPSERT else None

    if decision.action == retry.RATE_LIMITED:
        put_back(
            run,
            delay=decision.delay,
            counted=False,
            outcome=JobAttempt.Outcome.RATE_LIMITED,
            error_code=error.code,
            message=error.message,
        )
    elif decision.action == retry.RETRY:
        put_back(
            run,
            delay=decision.delay,
            counted=True,
            outcome=JobAttempt.Outcome.RETRY,
            error_code=error.code,
            message=execute.user_message(error),
        )
    elif decision.action == retry.UNKNOWN:
        finish_unsuccessfully(
            run,
            Job.Status.OUTCOME_UNKNOWN,
            "outcome_unknown",
            job_error_messages["outcome_unknown"],
            result=summary,
        )
    elif decision.action == retry.CANCEL:
        status, code = _status_for_inactive(job.connection)
        finish_unsuccessfully(run, status, code, job_error_messages[code], result=summary)
    else:
        finish_unsuccessfully(
            run, Job.Status.FAILED, error.code, _final_message(error, job), result=summary
        )


def _final_message(error, job):
    if error.permanent:
        return execute.user_message(error)
    reason = error_messages.get(error.code, error.code).split(".")[0].lower()
    return job_error_messages["retries_exhausted"].format(attempts=job.attempts, reason=reason)


def _status_for_inactive(connection):
    status = Connection.objects.filter(pk=connection.pk).values_list("status", flat=True).first()
    if status in (None, Connection.Status.REVOKED):
        return Job.Status.CANCELLED, "connection_revoked"
    return Job.Status.FAILED, "connection_not_active"


def _end_queued_for_connection(job):
    status, code = _status_for_inactive(job.connection)
    _end_queued(job, status, code, job_error_messages[code])


def _end_queued(job, status, code, message):
    """Finish a queued job that never ran, with its audit event."""
    now = timezone.now()
    with transaction.atomic():
        changed = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=status, finished_at=now, error_code=code, error=message[:200]
        )
        if not changed:
            return
        notify.announce_finished(job)
        record_event(
            job.tenant,
            "job.cancelled" if status == Job.Status.CANCELLED else "job.failed",
            **actor_for(job).audit_fields(),
            target_type="job",
            target_id=job.public_id,
            outcome=AuditEvent.Outcome.FAILURE,
            details={
                "method": job.method,
                "path_template": job.path_template,
                "operation_id": job.operation_id,
                "status": status,
                "error_code": code,
            },
        )
    logger.info(
        "[job=%s tenant=%s] %s before running: %s",
        job.public_id,
        job.tenant.public_id,
        status,
        code,
    )


def _requeue(queue, tenant_key, job_key):
    try:
        queue.requeue_front(tenant_key, job_key)
    except dispatch.DISPATCH_ERRORS as exc:
        # The job stays queued in the database, and the sweeper pushes it again.
        logger.warning("[job=%s] could not put the job back on the queue: %s", job_key, exc)


def _all_blocked(queue, denied) -> bool:
    try:
        waiting = set(queue.tenants())
    except dispatch.DISPATCH_ERRORS:
        return True
    return waiting <= denied.keys()


def _hand_over(queue):
    # The time budget is used up; a fresh task carries on if jobs remain.
    try:
        remaining = bool(queue.tenants())
    except dispatch.DISPATCH_ERRORS:
        return
    if remaining:
        dispatch.send_pump()
