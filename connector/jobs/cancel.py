"""Cancelling the queued jobs of a revoked connection."""

import logging

from django.utils import timezone

from connector.job_models import Job
from connector.jobs.messages import job_error_messages

logger = logging.getLogger(__name__)


def cancel_jobs_for_connection(connection) -> int:
    """Cancel every queued job of `connection` and return how many were cancelled.

    Runs in the caller's transaction, so a revoke commits its status change and the
    cancellations together. Running jobs are not touched here: the Keap client re-checks the
    connection's status under a row lock right before each call, so they stop before their
    next Keap call and end `cancelled` then. Cancelled ids left on the fair queue are dropped
    when a pump pops them.
    """
    cancelled = (
        Job.objects.for_tenant(connection.tenant)
        .filter(connection=connection, status=Job.Status.QUEUED)
        .update(
            status=Job.Status.CANCELLED,
            finished_at=timezone.now(),
            error_code="connection_revoked",
            error=job_error_messages["connection_revoked"],
        )
    )
    if cancelled:
        logger.info(
            "[connection=%s tenant=%s] cancelled %s queued job(s)",
            connection.public_id,
            connection.tenant.public_id,
            cancelled,
        )
    return cancelled
