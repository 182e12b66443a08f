"""Putting queued jobs in front of workers: the fair queue in Redis and the pump tasks.

A job is dispatched by pushing its id onto the `FairQueue` under its tenant and sending a pump
task. A pump takes whichever job is next in the round-robin across tenants, not necessarily the
one that sent it, so one tenant's backlog cannot delay another tenant's job.

Dispatching raises nothing for a Redis or broker failure: the job stays `queued` with no
`dispatched_at`, and the sweeper pushes it again once they are back.
"""

import logging
import math
import time

import redis
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from connector.job_models import Job
from connector.jobs import config
from connector.ratelimit import FairQueue, get_redis

logger = logging.getLogger(__name__)

# Failures of Redis (the fair queue) or of the broker (sending a task).
DISPATCH_ERRORS = (redis.RedisError, OperationalError, OSError)

# Wake-ups due within the same tenth of a second share one set of pump tasks.
WAKEUP_RESOLUTION_SECONDS = 0.1


def job_queue() -> FairQueue:
    return FairQueue(config.queue_name())


def dispatch_on_commit(job: Job) -> None:
    """Dispatch `job` once the current transaction commits (at once outside a transaction)."""
    job_pk, tenant_key = job.pk, str(job.tenant.public_id)
    transaction.on_commit(lambda: dispatch(job_pk, tenant_key))


def dispatch(job_pk: int, tenant_key: str) -> bool:
    """Push the job onto the fair queue and send a pump task; return whether both worked."""
    return push(job_pk, tenant_key) and send_pump()


def push(job_pk: int, tenant_key: str) -> bool:
    """Push the job onto the fair queue and note when; return whether Redis took it."""
    try:
        job_queue().push(tenant_key, str(job_pk))
    except DISPATCH_ERRORS as exc:
        logger.warning("[job=%s] not dispatched, the sweeper will retry: %s", job_pk, exc)
        return False

    Job.objects.filter(pk=job_pk, status=Job.Status.QUEUED).update(dispatched_at=timezone.now())
    return True


def schedule_dispatch(job_pk: int, delay: float) -> bool:
    """Dispatch the job in `delay` seconds (capped at CELERY_MAX_COUNTDOWN); return whether the
    task was sent. The dispatch task re-schedules itself while the job's `not_before` is ahead."""
    from connector.jobs.tasks import dispatch_job

    countdown = max(0.0, min(delay, config.max_countdown()))
    try:
        dispatch_job.apply_async(args=[job_pk], countdown=countdown, retry=False)
    except DISPATCH_ERRORS as exc:
        logger.warning("[job=%s] retry not scheduled, the sweeper will retry: %s", job_pk, exc)
        return False
    return True


def send_pump(countdown: float | None = None) -> bool:
    """Send one pump task; return whether the broker took it."""
    from connector.jobs.tasks import pump_jobs

    try:
        pump_jobs.apply_async(countdown=countdown, retry=False)
    except DISPATCH_ERRORS as exc:
        logger.warning("pump task not sent, the sweeper will send one: %s", exc)
        return False
    return True


def schedule_wakeup(delay: float) -> int:
    """Send JOB_WAKEUP_PUMPS pump tasks due in `delay` seconds, unless another worker already
    did for the same moment; return how many were sent.

    Every pump that finds the queue blocked by rate limits calls this, and without the shared
    marker each would schedule its own set, so the number of tasks would grow with the backlog.
    """
    delay = max(0.0, min(delay, config.max_countdown()))
    due = math.ceil((time.time() + delay) / WAKEUP_RESOLUTION_SECONDS)
    marker_ttl_ms = int(delay * 1000) + 5000
    try:
        marker = f"fairqueue:{config.queue_name()}:wakeup:{due}"
        claimed = get_redis().set(marker, 1, nx=True, px=marker_ttl_ms)
    except DISPATCH_ERRORS as exc:
        logger.warning("wake-up not scheduled, the sweeper will send a pump: %s", exc)
        return 0
    if not claimed:
        return 0

    sent = 0
    for _ in range(config.wakeup_pumps()):
        if send_pump(countdown=delay):
            sent += 1
    return sent
