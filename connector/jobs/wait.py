"""Waiting a few seconds for a job to finish, for `GET /api/v1/jobs/{id}?wait=`.

Each waiting request holds a web worker thread, so waits are bounded per process by a
semaphore of API_MAX_WAITERS slots (default 16). A request that finds no free slot does not
wait: the endpoint responds at once with the current state and a Retry-After header.

A waiting request sleeps until the worker announces the job finished (`connector.jobs.notify`),
and reads the row again at least every second in case that announcement is lost.
"""

import threading
import time

from django.conf import settings

from connector.job_models import Job
from connector.jobs.notify import FALLBACK_POLL_SECONDS, FinishSubscription

MAX_WAIT_SECONDS = 30

_semaphores: dict[int, threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def max_waiters() -> int:
    """API_MAX_WAITERS (default 16): requests per process that may wait for a job at once."""
    return int(getattr(settings, "API_MAX_WAITERS", 16))


def wait_for_job(job: Job, seconds: float) -> tuple[Job, bool]:
    """Wait up to `seconds` (at most 30) for `job` to finish; return (job reloaded, waited).

    `waited` is False when every wait slot of this process was taken, in which case the job is
    returned as it is, without waiting.
    """
    seconds = min(max(seconds, 0.0), MAX_WAIT_SECONDS)
    if seconds == 0 or job.is_finished:
        return job, True

    slots = _slots()
    if not slots.acquire(blocking=False):
        return job, False
    try:
        _poll(job, time.monotonic() + seconds)
    finally:
        slots.release()
    return job, True


def _poll(job, deadline):
    subscription = FinishSubscription(job.public_id)
    try:
        while True:
            job.refresh_from_db()
            remaining = deadline - time.monotonic()
            if job.is_finished or remaining <= 0:
                return
            subscription.wait(min(FALLBACK_POLL_SECONDS, remaining))
    finally:
        subscription.close()


def _slots() -> threading.BoundedSemaphore:
    size = max_waiters()
    with _semaphores_lock:
        semaphore = _semaphores.get(size)
        if semaphore is None:
            semaphore = threading.BoundedSemaphore(size)
            _semaphores[size] = semaphore
    return semaphore
