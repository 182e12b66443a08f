"""Celery tasks for Keap connections. Arguments are ids only; bodies call actions or the client.

Periodic entries (CELERY_BEAT_SCHEDULE): `refresh_due_tokens`, `check_active_connections` and
`discard_stale_pending_credentials`.
"""

import logging
import random
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connector import actions
from connector.keap import client
from connector.keap.errors import ConnectorError
from connector.models import REFRESH_TOKEN_MAX_AGE, Connection, Credential

logger = logging.getLogger(__name__)

# The scheduled refresh renews access tokens expiring within this window. It must exceed the
# beat interval of `refresh_due_tokens` (10 minutes), so no token expires between two runs.
SCHEDULED_REFRESH_MARGIN = timedelta(minutes=30)

# A pending credential older than this was never checked (a lost task message or a broker
# outage) and is discarded.
PENDING_MAX_AGE = timedelta(hours=1)

# Seconds; retries wait BASE * 2**attempt plus jitter, capped below CELERY_MAX_COUNTDOWN.
RETRY_BASE_SECONDS = 10
RETRY_CAP_SECONDS = 10 * 60


def retry_countdown(attempt, retry_after=None):
    """Return seconds to wait before retry number `attempt` (0-based), with full jitter."""
    cap = min(RETRY_CAP_SECONDS, getattr(settings, "CELERY_MAX_COUNTDOWN", RETRY_CAP_SECONDS))
    delay = min(cap, RETRY_BASE_SECONDS * 2**attempt)
    delay = random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not security
    if retry_after:
        delay = max(delay, min(cap, retry_after))
    return delay


@shared_task(ignore_result=True)
def verify_pending_credential(credential_id, user_id=None):
    """Check a newly stored PAT, SAK or OAuth grant with Keap and activate or discard it."""
    actions.do_verify_pending_credential(credential_id, user_id)


@shared_task(bind=True, ignore_result=True, max_retries=6)
def refresh_connection_token(self, connection_id):
    """Refresh one OAuth connection's tokens if still due; retry timeouts, 5xx and 429.

    A rejected refresh (HTTP 400) is not retried: the client has marked the connection
    `needs_reauth` and emailed its admins.
    """
    connection = (
        Connection.objects.select_related("tenant")
        .filter(pk=connection_id, method=Connection.Method.OAUTH, status=Connection.Status.ACTIVE)
        .first()
    )
    if connection is None:
        return

    try:
        client.refresh_if_due(connection, margin=SCHEDULED_REFRESH_MARGIN)
    except ConnectorError as exc:
        if exc.permanent:
            return
        countdown = retry_countdown(self.request.retries, exc.retry_after)
        logger.warning(
            "[connection=%s tenant=%s] refresh failed (%s), retry %s in %.0fs",
            connection.public_id,
            connection.tenant.public_id,
            exc.code,
            self.request.retries + 1,
            countdown,
        )
        raise self.retry(countdown=countdown, exc=exc)


@shared_task(ignore_result=True)
def refresh_due_tokens():
    """Queue a refresh for every active OAuth connection whose access token expires soon or
    whose refresh token is older than 30 days, idle connections included."""
    now = timezone.now()
    connection_ids = (
        Credential.objects.filter(
            is_pending=False,
            connection__method=Connection.Method.OAUTH,
            connection__status=Connection.Status.ACTIVE,
        )
        .filter(
            Q(access_token_expires_at__lte=now + SCHEDULED_REFRESH_MARGIN)
            | Q(refresh_token_issued_at__lte=now - REFRESH_TOKEN_MAX_AGE)
        )
        .values_list("connection_id", flat=True)
    )
    count = 0
    for connection_id in connection_ids.iterator():
        refresh_connection_token.delay(connection_id)
        count += 1
    logger.info("queued %s token refresh(es)", count)


@shared_task(ignore_result=True)
def check_connection(connection_id, user_id=None):
    """Call Keap's userinfo for one connection and record the status and check time."""
    connection = Connection.objects.select_related("tenant").filter(pk=connection_id).first()
    if connection is None or connection.status == Connection.Status.REVOKED:
        return
    actions.do_check_connection(connection, actor=actions.actor_for_user_id(user_id))


@shared_task(ignore_result=True)
def check_active_connections():
    """Queue a health check for every active connection."""
    connection_ids = Connection.objects.filter(status=Connection.Status.ACTIVE).values_list(
        "pk", flat=True
    )
    count = 0
    for connection_id in connection_ids.iterator():
        check_connection.delay(connection_id)
        count += 1
    logger.info("queued %s connection check(s)", count)


@shared_task(ignore_result=True)
def discard_stale_pending_credentials():
    """Delete pending credentials that no worker checked within an hour."""
    cutoff = timezone.now() - PENDING_MAX_AGE
    credential_ids = Credential.objects.filter(is_pending=True, created_at__lt=cutoff).values_list(
        "pk", flat=True
    )
    discarded = sum(actions.do_discard_pending_credential(pk) for pk in list(credential_ids))
    logger.info("discarded %s unchecked pending credential(s)", discarded)


from connector.jobs.tasks import *  # noqa: E402,F401,F403
