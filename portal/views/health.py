"""Probes for load balancers and orchestrators. Both are public and reveal no configuration."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from connector.ratelimit import get_redis

logger = logging.getLogger(__name__)

# Seconds; a readiness probe must answer well within a typical 5-second probe timeout.
BROKER_TIMEOUT = 2


@never_cache
@require_GET
def healthz(request):
    """Report that the process is alive; checks nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    """Report whether the database, the Celery broker and the Redis of the rate limiter and the
    job queue can be reached, naming the failing part."""
    checks = {"database": _check_database(), "broker": _check_broker(), "queue": _check_queue()}
    failing = [name for name, ok in checks.items() if not ok]
    body = {name: "ok" if ok else "unreachable" for name, ok in checks.items()}
    if failing:
        body["status"] = "unavailable"
        body["failing"] = failing
        return JsonResponse(body, status=503)

    body["status"] = "ok"
    return JsonResponse(body)


def _check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as exc:
        logger.warning("readiness: database unreachable: %s", exc.__class__.__name__)
        return False


def _check_broker():
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=BROKER_TIMEOUT,
            transport_options=options,
        ) as broker:
            broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
        return True
    except Exception as exc:
        logger.warning("readiness: broker unreachable: %s", exc.__class__.__name__)
        return False


def _check_queue():
    try:
        get_redis().ping()
        return True
    except Exception as exc:
        logger.warning(
            "readiness: rate limiter and job queue Redis unreachable: %s", exc.__class__.__name__
        )
        return False
