"""Deleting the personal data that finished jobs hold, after JOB_RESULT_RETENTION_DAYS."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from connector.job_models import Job
from connector.jobs import config

logger = logging.getLogger(__name__)

# Rows updated per statement, so one run never holds many row locks at once.
PURGE_CHUNK_SIZE = 1000


def purge_job_results(now=None) -> int:
    """Delete the personal data of jobs that finished before the retention period.

    Empties the payload, result and failed rows, sets `result_purged_at`, and clears expired
    idempotency keys. Returns how many jobs were purged.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=config.result_retention_days())
    due = Job.objects.filter(result_purged_at__isnull=True, finished_at__lt=cutoff)

    purged = 0
    while True:
        chunk = list(due.values_list("pk", flat=True)[:PURGE_CHUNK_SIZE])
        if not chunk:
            break
        purged += Job.objects.filter(pk__in=chunk).update(
            payload_ciphertext=None,
            result_ciphertext=None,
            failed_rows_ciphertext=None,
            result_purged_at=now,
        )

    expired_keys = Job.objects.filter(idempotency_expires_at__lte=now).filter(
        ~Q(idempotency_key="")
    )
    cleared = expired_keys.update(idempotency_key="")
    logger.info("purged %s job result(s), cleared %s expired idempotency key(s)", purged, cleared)
    return purged
