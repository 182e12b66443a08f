"""Celery tasks of the job pipeline. Arguments are ids only, never payloads or secrets.

Periodic entries (CELERY_BEAT_SCHEDULE): `sweep_jobs` every 10 seconds and
`purge_job_results` hourly.
"""

import logging

from celery import shared_task
from django.utils import timezone

from connector.job_models import Job
from connector.jobs import dispatch, retention, run, sweeper

logger = logging.getLogger(__name__)

__all__ = ["dispatch_job", "pump_jobs", "purge_job_results", "sweep_jobs"]

# A delayed dispatch that fires this little early pushes the job anyway; the pump waits.
EARLY_DISPATCH_TOLERANCE_SECONDS = 0.05


@shared_task(ignore_result=True)
def pump_jobs():
    """Run queued jobs in fair order for up to JOB_PUMP_SECONDS."""
    run.pump()


@shared_task(ignore_result=True)
def dispatch_job(job_id):
    """Push a queued job whose wait (a retry backoff or a rate limit) is over onto the queue."""
    job = Job.objects.select_related("tenant").filter(pk=job_id, status=Job.Status.QUEUED).first()
    if job is None:
        return

    wait = (job.not_before - timezone.now()).total_seconds()
    if wait > EARLY_DISPATCH_TOLERANCE_SECONDS:
        # Waits beyond CELERY_MAX_COUNTDOWN are covered by several shorter hops.
        dispatch.schedule_dispatch(job.pk, wait)
        return
    dispatch.dispatch(job.pk, str(job.tenant.public_id))


@shared_task(ignore_result=True)
def sweep_jobs():
    """Recover jobs of lost workers and push queued jobs missing from the queue."""
    sweeper.sweep()


@shared_task(ignore_result=True)
def purge_job_results():
    """Delete job payloads and results older than JOB_RESULT_RETENTION_DAYS."""
    retention.purge_job_results()
