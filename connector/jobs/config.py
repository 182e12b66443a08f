"""Settings of the job pipeline, each read with its default next to it."""

from django.conf import settings


def max_attempts() -> int:
    """JOB_MAX_ATTEMPTS (default 8): counted tries before a transient failure becomes final.

    With the default backoff the seven waits add up to 127 to 254 seconds, which outlasts a
    Keap outage of two minutes.
    """
    return int(getattr(settings, "JOB_MAX_ATTEMPTS", 8))


def retry_base_seconds() -> float:
    """JOB_RETRY_BASE_SECONDS (default 2): the backoff before the second try, doubled after."""
    return float(getattr(settings, "JOB_RETRY_BASE_SECONDS", 2))


def retry_cap_seconds() -> float:
    """JOB_RETRY_CAP_SECONDS (default 300): the longest backoff between two tries."""
    return float(getattr(settings, "JOB_RETRY_CAP_SECONDS", 300))


def max_rate_limited_tries() -> int:
    """JOB_MAX_RATE_LIMITED_TRIES (default 50): 429 responses a job may get before it fails."""
    return int(getattr(settings, "JOB_MAX_RATE_LIMITED_TRIES", 50))


def lease_seconds() -> float:
    """JOB_LEASE_SECONDS: how long a claim lasts without renewal.

    The default covers one Keap call with its timeouts twice over (a call may refresh an OAuth
    token first), plus 30 seconds. Workers renew the lease before every Keap call.
    """
    default = 2 * (settings.KEAP_CONNECT_TIMEOUT + settings.KEAP_READ_TIMEOUT) + 30
    return float(getattr(settings, "JOB_LEASE_SECONDS", default))


def dispatch_grace_seconds() -> float:
    """JOB_DISPATCH_GRACE_SECONDS (default 10): how long a queued job may wait off the fair
    queue before the sweeper pushes it again."""
    return float(getattr(settings, "JOB_DISPATCH_GRACE_SECONDS", 10))


def sweep_batch_size() -> int:
    """JOB_SWEEP_BATCH_SIZE (default 2000): jobs one sweeper run looks at, per kind of check."""
    return int(getattr(settings, "JOB_SWEEP_BATCH_SIZE", 2000))


def pump_seconds() -> float:
    """JOB_PUMP_SECONDS (default 60): how long one pump task keeps taking jobs before it hands
    over to a new task. Must stay well below CELERY_TASK_SOFT_TIME_LIMIT."""
    return float(getattr(settings, "JOB_PUMP_SECONDS", 60))


def wakeup_pumps() -> int:
    """JOB_WAKEUP_PUMPS (default 8): pump tasks scheduled for the moment a rate limit frees up.

    Set it to about the number of worker processes: fewer leaves workers idle after a wait,
    more only costs a few empty tasks.
    """
    return int(getattr(settings, "JOB_WAKEUP_PUMPS", 8))


def short_wait_seconds() -> float:
    """JOB_SHORT_WAIT_SECONDS (default 1.6): the longest rate-limit wait a worker sleeps through.

    A longer wait puts the job back on the queue. The default covers one per-second window
    stretched by the limiter's half-second safety stretch.
    """
    return float(getattr(settings, "JOB_SHORT_WAIT_SECONDS", 1.6))


def in_job_wait_seconds() -> float:
    """JOB_IN_JOB_WAIT_SECONDS (default 10): the longest rate-limit wait slept through between
    two Keap calls of one job (an upsert and its tags, batch rows) before the job is put back."""
    return float(getattr(settings, "JOB_IN_JOB_WAIT_SECONDS", 10.0))


def batch_chunk_rows() -> int:
    """JOB_BATCH_CHUNK_ROWS (default 100): batch rows one task handles before a new task
    continues, so no task runs into the Celery time limit."""
    return int(getattr(settings, "JOB_BATCH_CHUNK_ROWS", 100))


def batch_chunk_seconds() -> float:
    """JOB_BATCH_CHUNK_SECONDS (default 60): the time after which a batch task stops after its
    current row and a new task continues."""
    return float(getattr(settings, "JOB_BATCH_CHUNK_SECONDS", 60))


def max_batch_rows() -> int:
    """JOB_MAX_BATCH_ROWS (default 1000): the most contacts one batch job may hold."""
    return int(getattr(settings, "JOB_MAX_BATCH_ROWS", 1000))


def idempotency_hours() -> float:
    """JOB_IDEMPOTENCY_HOURS (default 24): how long an Idempotency-Key returns its first job."""
    return float(getattr(settings, "JOB_IDEMPOTENCY_HOURS", 24))


def result_retention_days() -> float:
    """JOB_RESULT_RETENTION_DAYS (default 30): days after a job finishes until its payload,
    result and failed rows are deleted."""
    return float(getattr(settings, "JOB_RESULT_RETENTION_DAYS", 30))


def queue_name() -> str:
    """JOB_QUEUE_NAME (default "jobs"): the name of the fair queue in Redis."""
    return getattr(settings, "JOB_QUEUE_NAME", "jobs")


def max_countdown() -> float:
    """CELERY_MAX_COUNTDOWN: the longest delay a scheduled task may have (see config/settings)."""
    return float(getattr(settings, "CELERY_MAX_COUNTDOWN", 15 * 60))
