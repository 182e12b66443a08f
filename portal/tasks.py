"""Celery tasks of the portal. Periodic entry (CELERY_BEAT_SCHEDULE): `warn_expiring_site_keys`."""

import logging

from celery import shared_task

from portal import emails

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def warn_expiring_site_keys():
    """Email owners and admins once about each site key that expires within a week."""
    warned = emails.send_site_key_expiry_warnings()
    logger.info("warned about %s expiring site keys", warned)
