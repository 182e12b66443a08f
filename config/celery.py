"""The Celery app. Its settings are the CELERY_* names in config/settings.py."""

import logging
import logging.config
import os
import time

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("portal.task")

HEARTBEAT_CACHE_KEY = "portal:worker-heartbeat"

_started = {}


@signals.setup_logging.connect
def use_django_logging(**kwargs):
    """Keep Django's LOGGING (with its secret filter) instead of Celery's own set-up."""
    import django
    from django.conf import settings

    django.setup()
    logging.config.dictConfig(settings.LOGGING)


@signals.task_prerun.connect
def start_task_log(task_id, task, args, kwargs, **extra):
    from config.request_log import current_request_id

    current_request_id.set(task_id)
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def finish_task_log(task_id, task, args, kwargs, retval, state, **extra):
    from config.request_log import current_request_id

    started = _started.pop(task_id, None)
    elapsed_ms = (time.monotonic() - started) * 1000 if started else 0.0
    # Task arguments are ids only, so logging them is safe.
    logger.info(
        "task %s %s args=%s %.1fms",
        task.name,
        state,
        list(args or []),
        elapsed_ms,
        extra={"task": task.name, "state": state, "duration_ms": round(elapsed_ms, 1)},
    )
    current_request_id.set("-")


@app.task(name="portal.heartbeat")
def heartbeat():
    """Record in the cache that a worker ran a task, so a smoke test can see the worker work."""
    from django.core.cache import cache
    from django.utils import timezone

    cache.set(HEARTBEAT_CACHE_KEY, timezone.now().isoformat(), timeout=None)
