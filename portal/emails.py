"""Emails the portal sends to a tenant's owners and admins about its client sites.

The "connection needs reauthorisation" email is sent by `connector.actions` when Keap rejects a
connection, so it is not repeated here.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from connector.actor import SYSTEM
from connector.models import ClientSite, SiteKey
from tenants.audit import record_event
from tenants.models import AuditEvent, Membership

logger = logging.getLogger(__name__)

# Audit action that marks a key as warned; its presence keeps the warning to once per key.
EXPIRY_NOTIFIED = "site_key.expiry_notified"


def expiry_warning_days():
    """SITE_KEY_EXPIRY_WARNING_DAYS (default 7): days before expiry that the warning is sent."""
    return int(getattr(settings, "SITE_KEY_EXPIRY_WARNING_DAYS", 7))


def send_site_key_expiry_warnings(now=None) -> int:
    """Email each tenant's owners and admins about site keys that expire soon; return keys warned.

    A key qualifies when it is neither revoked nor expired, expires within
    SITE_KEY_EXPIRY_WARNING_DAYS, and its site is not revoked. Each key is warned once, because
    the `site_key.expiry_notified` audit event commits with the sending, under a lock on the
    key. A failed send is retried at the next run, and two runs at once do not both send.
    A database failure after a successful send can still repeat the email at the next run.
    """
    now = now or timezone.now()
    due = (
        SiteKey.objects.filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=expiry_warning_days()),
        )
        .exclude(site__status=ClientSite.Status.REVOKED)
        .values_list("pk", flat=True)
    )
    warned = 0
    for key_pk in due:
        try:
            warned += _warn_key(key_pk, now)
        except Exception:
            logger.exception("[site_key=%s] sending the expiry warning failed", key_pk)
    return warned


def _warn_key(key_pk, now) -> bool:
    with transaction.atomic():
        key = (
            SiteKey.objects.select_for_update(of=("self",))
            .select_related("site", "tenant")
            .filter(pk=key_pk, revoked_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if key is None or _already_warned(key):
            return False

        recipients = _admin_emails(key.tenant)
        record_event(
            key.tenant,
            EXPIRY_NOTIFIED,
            **SYSTEM.audit_fields(),
            target_type="site_key",
            target_id=str(key.public_id),
            details={
                "site": str(key.site.public_id),
                "expires_at": key.expires_at.isoformat(),
                "recipients": len(recipients),
            },
        )
        _send(key, recipients)

    logger.info(
        "[site_key=%s tenant=%s] expiry warning sent to %s recipients",
        key.public_id,
        key.tenant.public_id,
        len(recipients),
    )
    return True


def _already_warned(key):
    return AuditEvent.objects.filter(
        tenant=key.tenant, action=EXPIRY_NOTIFIED, target_id=str(key.public_id)
    ).exists()


def _admin_emails(tenant):
    return sorted(
        set(
            Membership.objects.for_tenant(tenant)
            .filter(role__in=[Membership.Role.OWNER, Membership.Role.ADMIN], user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def _send(key, recipients):
    """Send one message per recipient, so no owner sees another's address."""
    ctx = {
        "key": key,
        "site": key.site,
        "tenant": key.tenant,
        "site_url": settings.PORTAL_BASE_URL.rstrip("/") + key.site.get_absolute_url(),
    }
    subject = " ".join(render_to_string("portal/email/site_key_expiring_subject.txt", ctx).split())
    body = render_to_string("portal/email/site_key_expiring.txt", ctx)
    messages = [
        EmailMessage(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [address])
        for address in recipients
    ]
    if messages:
        get_connection().send_messages(messages)
