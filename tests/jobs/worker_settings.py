"""Settings for the Celery worker and beat processes that job tests start.

The project's settings, plus the per-test names (Celery queue, fair queue, rate-limit key
prefix) and pipeline settings that the test passes in the environment, so a worker serves only
its own test's jobs.
"""

import os

from config.settings import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = os.environ["TEST_CELERY_QUEUE"]
JOB_QUEUE_NAME = os.environ["JOB_QUEUE_NAME"]
RATELIMIT_KEY_PREFIX = os.environ["RATELIMIT_KEY_PREFIX"]

for _name in (
    "JOB_LEASE_SECONDS",
    "JOB_DISPATCH_GRACE_SECONDS",
    "JOB_RETRY_BASE_SECONDS",
    "JOB_RETRY_CAP_SECONDS",
    "JOB_PUMP_SECONDS",
    "JOB_SHORT_WAIT_SECONDS",
):
    if _name in os.environ:
        globals()[_name] = float(os.environ[_name])
for _name in ("JOB_MAX_ATTEMPTS", "JOB_WAKEUP_PUMPS"):
    if _name in os.environ:
        globals()[_name] = int(os.environ[_name])

CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {
        "task": "connector.jobs.tasks.sweep_jobs",
        "schedule": float(os.environ.get("TEST_SWEEP_SECONDS", "10")),
    },
}
