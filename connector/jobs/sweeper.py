"""The sweeper: a periodic task that makes sure every accepted job finishes.

Each run (every 10 seconds through Celery beat):
1. Recovers running jobs whose lease expired, because their worker died or hung. A job that is
   safe to repeat goes back to `queued` (a batch continues after its last saved row). A request
   that is not safe to repeat may have reached Keap, so it ends `outcome_unknown`.
2. Pushes queued jobs that are due but missing from the fair queue: their push failed while
   Redis was down, their delayed retry message was lost with a worker, or Redis lost its data.
3. Sends a pump task when jobs are waiting, in case every pump message was lost.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connector.job_models import Job, JobAttempt
from connector.jobs import config, dispatch, payloads
from connector.jobs.messages import job_error_messages
from connector.jobs.operations import is_repeatable
from connector.jobs.run import actor_for
from connector.vault import VaultError
from tenants.audit import record_event
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    requeued: int = 0
    outcome_unknown: int = 0
    failed: int = 0
    pushed: int = 0
    pumps: int = 0


def sweep() -> SweepReport:
    """Run the three steps above once and return what they did."""
    report = SweepReport()
    recover_expired_leases(report)
    push_missing(report)
    report.pumps += _kick()
    if report.requeued or report.outcome_unknown or report.failed or report.pushed:
        logger.info(
            "sweeper: %s requeued, %s outcome unknown, %s failed after lost workers, "
            "%s pushed again",
            report.requeued,
            report.outcome_unknown,
            report.failed,
            report.pushed,
        )
    return report


def recover_expired_leases(report: SweepReport) -> None:
    now = timezone.now()
    expired = (
        Job.objects.filter(status=Job.Status.RUNNING, lease_until__lt=now)
        .order_by("lease_until")
        .values_list("pk", flat=True)[: config.sweep_batch_size()]
    )
    for job_pk in list(expired):
        _recover(job_pk, now, report)


def _recover(job_pk, now, report):
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("tenant", "connection", "site", "created_by")
            .filter(pk=job_pk, status=Job.Status.RUNNING, lease_until__lt=now)
            .first()
        )
        if job is None:
            return

        JobAttempt.objects.filter(job=job, outcome=JobAttempt.Outcome.RUNNING).update(
            outcome=JobAttempt.Outcome.LOST, finished_at=now, error_code="worker_lost"
        )
        if not _is_repeatable(job):
            _finish(job, now, Job.Status.OUTCOME_UNKNOWN, "outcome_unknown")
            report.outcome_unknown += 1
        elif job.attempts >= config.max_attempts():
            _finish(job, now, Job.Status.FAILED, "worker_lost")
            report.failed += 1
        else:
            Job.objects.filter(pk=job.pk).update(
                status=Job.Status.QUEUED,
                not_before=now,
                lease_until=None,
                claim_id=None,
                lease_owner="",
                dispatched_at=None,
            )
            dispatch.dispatch_on_commit(job)
            report.requeued += 1

    logger.warning(
        "[job=%s tenant=%s] lease of worker %s expired; recovered",
        job.public_id,
        job.tenant.public_id,
        job.lease_owner or "-",
    )


def _is_repeatable(job):
    if job.kind != Job.Kind.REQUEST:
        return True
    try:
        query = (payloads.decrypt(job, payloads.PAYLOAD) or {}).get("query")
    except VaultError:
        query = None
    return is_repeatable(job.method, job.operation_id, query)


def _finish(job, now, status, code):
    message = job_error_messages[code].format(attempts=job.attempts)
    Job.objects.filter(pk=job.pk).update(
        status=status,
        finished_at=now,
        lease_until=None,
        claim_id=None,
        error_code=code,
        error=message[:200],
    )
    record_event(
        job.tenant,
        "job.failed",
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
            "attempt": job.runs,
        },
    )


def push_missing(report: SweepReport) -> None:
    cutoff = timezone.now() - timedelta(seconds=config.dispatch_grace_seconds())
    candidates = list(
        Job.objects.filter(status=Job.Status.QUEUED, not_before__lte=cutoff)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lte=cutoff))
        .order_by(F("dispatched_at").asc(nulls_first=True), "pk")
        .values_list("pk", "tenant__public_id")[: config.sweep_batch_size()]
    )
    if not candidates:
        return

    queue = dispatch.job_queue()
    waiting_by_tenant: dict[str, set[str]] = {}
    for job_pk, tenant_public_id in candidates:
        tenant_key = str(tenant_public_id)
        try:
            if tenant_key not in waiting_by_tenant:
                waiting_by_tenant[tenant_key] = _waiting_job_ids(queue, tenant_key)
        except dispatch.DISPATCH_ERRORS as exc:
            logger.warning("sweeper: fair queue unreachable, nothing pushed: %s", exc)
            return
        if str(job_pk) in waiting_by_tenant[tenant_key]:
            # Still waiting its turn (a long backlog or a rate limit); touch nothing.
            continue
        if not dispatch.push(job_pk, tenant_key):
            return
        report.pushed += 1

    for _ in range(min(report.pushed, config.wakeup_pumps())):
        if dispatch.send_pump():
            report.pumps += 1


def _waiting_job_ids(queue, tenant_key) -> set[str]:
    return set(queue.job_ids(tenant_key))


def _kick() -> int:
    try:
        waiting = bool(dispatch.job_queue().tenants())
    except dispatch.DISPATCH_ERRORS as exc:
        logger.warning("sweeper: fair queue unreachable: %s", exc)
        return 0
    return int(waiting and dispatch.send_pump())
