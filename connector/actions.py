"""Business actions on Keap connections: connect, verify, check, mark for reauth, revoke.

`do_*` functions change state and write the audit event in the same transaction; `check_*`
functions validate input first. Keap calls happen only through `connector.keap.client`.
"""

import logging
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from connector.actor import SYSTEM, Actor
from connector.jobs.cancel import cancel_jobs_for_connection
from connector.keap import client
from connector.keap.errors import ConnectorError, error_messages
from connector.keyformats import KEAP_KEY_PREFIX
from connector.models import Connection, Credential
from connector.vault import credentials as vault
from tenants.audit import record_event
from tenants.models import AuditEvent, Membership

logger = logging.getLogger(__name__)

# Keys seen in public code are the prefix and 50 hex characters; the bounds are looser so a
# future key length still passes, while pasted prose or a URL does not.
API_KEY_FORM = re.compile(re.escape(KEAP_KEY_PREFIX) + r"[A-Za-z0-9_\-]{20,200}")

# Seconds a page waits for a worker to check a new credential with Keap before it shows the
# connection as still being checked.
VERIFICATION_WAIT_SECONDS = 8
VERIFICATION_RESULT_TTL = 15 * 60

LIVE_STATUSES = [Connection.Status.ACTIVE, Connection.Status.NEEDS_REAUTH]


# --- Connecting -----------------------------------------------------------------------------


def check_api_key(raw_key: str) -> str:
    """Return the pasted key without surrounding white space.

    Raises ConnectorError `invalid_key_format` when it is not shaped like a Keap PAT or SAK; the
    error never contains the key.
    """
    key = (raw_key or "").strip()
    if not API_KEY_FORM.fullmatch(key):
        raise ConnectorError("invalid_key_format", permanent=True)
    return key


def do_add_pending_api_key(tenant, *, method, key, actor: Actor, reconnect=None, request=None):
    """Store a PAT or SAK encrypted as a pending credential and queue its check with Keap.

    Creates a pending connection, or with `reconnect` a pending credential on that existing
    connection. The key reaches the worker only as ciphertext in the database; the task gets
    ids. Returns the pending Credential; `wait_for_verification` reports the outcome.
    """
    if method not in (Connection.Method.PAT, Connection.Method.SAK):
        raise ValueError(f"Invalid API key method {method!r}.")
    return _add_pending(
        tenant,
        method=method,
        values={Credential.Field.API_KEY: key},
        extra={"key_hint": key[-4:]},
        actor=actor,
        reconnect=reconnect,
        request=request,
    )


def do_add_pending_oauth(tenant, *, tokens, actor: Actor, reconnect=None, request=None):
    """Store tokens from a code exchange as a pending credential and queue their check."""
    if not tokens.refresh_token:
        raise ConnectorError(
            "unexpected_response", permanent=True, detail="code exchange returned no refresh token"
        )
    return _add_pending(
        tenant,
        method=Connection.Method.OAUTH,
        values={
            Credential.Field.ACCESS_TOKEN: tokens.access_token,
            Credential.Field.REFRESH_TOKEN: tokens.refresh_token,
        },
        extra={
            "access_token_expires_at": tokens.expires_at,
            "refresh_token_issued_at": timezone.now(),
        },
        actor=actor,
        reconnect=reconnect,
        request=request,
        keap_tenant_id=tokens.keap_tenant_id,
    )


def _add_pending(tenant, *, method, values, extra, actor, reconnect, request, keap_tenant_id=""):
    from connector import tasks

    user_id = int(actor.id) if actor.type == AuditEvent.ActorType.USER else None
    with transaction.atomic():
        if reconnect is None:
            connection = Connection.objects.create(
                tenant=tenant, method=method, keap_tenant_id=keap_tenant_id, created_by_id=user_id
            )
        else:
            connection = _lock_reconnectable(reconnect, method)
            # A replacement that never finished checking is superseded by this one.
            Credential.objects.filter(connection=connection, is_pending=True).delete()

        credential = Credential(tenant=tenant, connection=connection, is_pending=True, **extra)
        vault.store(credential, values)
        record_event(
            tenant,
            "connection.verification_started",
            **actor.audit_fields(),
            target_type="connection",
            target_id=connection.public_id,
            details={"method": method, "reconnect": reconnect is not None},
            request=request,
        )
        transaction.on_commit(lambda: tasks.verify_pending_credential.delay(credential.pk, user_id))
    return credential


def _lock_reconnectable(connection, method):
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    if locked.status not in LIVE_STATUSES:
        raise ConnectorError("connection_not_active", permanent=True)
    if locked.method != method:
        raise ValueError(f"Connection {locked.public_id} uses {locked.method}, not {method}.")
    return locked


def do_verify_pending_credential(credential_id, user_id=None):
    """Check a pending credential with Keap's userinfo and activate it, or delete it.

    On success the credential becomes the connection's current one (replacing the old one on a
    reconnect) and the connection becomes active. On failure a new connection is deleted with
    its credential, and a reconnect keeps its old credential. Either way the outcome goes to
    the cache for `wait_for_verification`. Running it twice is harmless.
    """
    credential = (
        Credential.objects.select_related("tenant", "connection")
        .filter(pk=credential_id, is_pending=True)
        .first()
    )
    if credential is None:
        return None

    actor = actor_for_user_id(user_id)
    try:
        info = client.verify_pending_credential(credential.connection, actor=actor)
    except ConnectorError as exc:
        return _reject_pending(credential, exc.code, actor)

    account_name = _business_name(credential, actor)
    return _activate_pending(credential, info, account_name, actor)


def _business_name(credential, actor):
    try:
        return client.get_business_name(credential.connection, actor=actor, pending=True)
    except ConnectorError as exc:
        # The name is a label only; a PAT of a non-admin Keap user may not read it.
        logger.info(
            "[connection=%s tenant=%s] no business name: %s",
            credential.connection.public_id,
            credential.tenant.public_id,
            exc.code,
        )
        return ""


def do_discard_pending_credential(credential_id):
    """Delete a pending credential that no worker checked in time, with its pending connection.

    Returns whether anything was deleted. Covers a lost task message or a broker outage, so a
    key that Keap never accepted does not stay stored.
    """
    credential = (
        Credential.objects.select_related("tenant", "connection")
        .filter(pk=credential_id, is_pending=True)
        .first()
    )
    if credential is None:
        return False
    _reject_pending(credential, "verification_expired", SYSTEM)
    return True


def _activate_pending(credential, info, account_name, actor):
    tenant = credential.tenant
    try:
        with transaction.atomic():
            connection = Connection.objects.select_for_update().get(pk=credential.connection_id)
            pending = Credential.objects.filter(pk=credential.pk, is_pending=True).first()
            if pending is None or connection.status == Connection.Status.REVOKED:
                return _finish_verification(credential, "failed", "connection_not_active")

            if connection.status == Connection.Status.PENDING:
                outcome = _activate_new(connection, pending, info, account_name)
            else:
                outcome = _activate_reconnect(connection, pending, info, account_name)
            if outcome != "failed":
                record_event(
                    tenant,
                    f"connection.{outcome}",
                    **actor.audit_fields(),
                    target_type="connection",
                    target_id=connection.public_id,
                    details={
                        "method": connection.method,
                        "keap_tenant_id": connection.keap_tenant_id,
                        "keap_user_email": connection.keap_user_email,
                    },
                )
    except IntegrityError:
        # Another pending connection for the same Keap account was activated first.
        return _reject_pending(credential, "already_connected", actor)

    if outcome == "failed":
        return _reject_pending(credential, "account_mismatch", actor)
    logger.info(
        "[connection=%s tenant=%s] %s %s",
        connection.public_id,
        tenant.public_id,
        outcome,
        info.keap_tenant_id,
    )
    return _finish_verification(credential, outcome)


def _activate_new(connection, pending, info, account_name):
    keap_tenant_id = info.keap_tenant_id or connection.keap_tenant_id
    duplicate = (
        Connection.objects.for_tenant(connection.tenant)
        .filter(keap_tenant_id=keap_tenant_id, method=connection.method, status__in=LIVE_STATUSES)
        .exists()
    )
    if duplicate:
        raise IntegrityError("connector_connection_one_live_per_account")

    now = timezone.now()
    connection.status = Connection.Status.ACTIVE
    connection.keap_tenant_id = keap_tenant_id
    connection.keap_account_name = account_name
    connection.keap_user_email = info.email
    connection.connected_at = now
    connection.status_changed_at = now
    connection.last_success_at = now
    connection.last_checked_at = now
    connection.last_error = ""
    connection.save()

    pending.is_pending = False
    pending.save(update_fields=["is_pending", "updated_at"])
    return "created"


def _activate_reconnect(connection, pending, info, account_name):
    if info.keap_tenant_id and info.keap_tenant_id != connection.keap_tenant_id:
        return "failed"

    Credential.objects.filter(connection=connection, is_pending=False).delete()
    pending.is_pending = False
    pending.save(update_fields=["is_pending", "updated_at"])

    now = timezone.now()
    connection.status = Connection.Status.ACTIVE
    connection.keap_user_email = info.email
    connection.keap_account_name = account_name or connection.keap_account_name
    connection.status_changed_at = now
    connection.last_success_at = now
    connection.last_checked_at = now
    connection.last_error = ""
    connection.save()
    return "reconnected"


def _reject_pending(credential, code, actor):
    connection = credential.connection
    with transaction.atomic():
        if connection.status == Connection.Status.PENDING:
            Connection.objects.filter(pk=connection.pk, status=Connection.Status.PENDING).delete()
        else:
            Credential.objects.filter(pk=credential.pk, is_pending=True).delete()
        record_event(
            credential.tenant,
            "connection.verification_failed",
            **actor.audit_fields(),
            target_type="connection",
            target_id=connection.public_id,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"code": code, "method": connection.method},
        )
    logger.info(
        "[connection=%s tenant=%s] credential check failed: %s",
        connection.public_id,
        credential.tenant.public_id,
        code,
    )
    return _finish_verification(credential, "failed", code)


def _finish_verification(credential, outcome, code=""):
    result = {"outcome": outcome, "code": code, "connection": str(credential.connection.public_id)}
    cache.set(_verification_key(credential.public_id), result, VERIFICATION_RESULT_TTL)
    return result


def _verification_key(credential_public_id):
    return f"connector:verification:{credential_public_id}"


def wait_for_verification(credential, timeout=VERIFICATION_WAIT_SECONDS):
    """Wait up to `timeout` seconds for a worker to check `credential`.

    Returns {"outcome": "created" | "reconnected" | "failed", "code": ..., "connection": ...},
    or None when the check has not finished yet.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = cache.get(_verification_key(credential.public_id))
        if result is not None or time.monotonic() >= deadline:
            return result
        time.sleep(0.2)


def actor_for_user_id(user_id):
    from django.contrib.auth import get_user_model

    if user_id is None:
        return SYSTEM
    user = get_user_model().objects.filter(pk=user_id).first()
    return Actor.for_user(user) if user else SYSTEM


# --- Health and status ----------------------------------------------------------------------


def do_check_connection(connection, *, actor: Actor = SYSTEM, request=None):
    """Call Keap's userinfo for `connection` and record the result.

    Returns None on success or the ConnectorError. Sets `last_checked_at`, and `last_error` in
    plain words; a 401 also marks the connection `needs_reauth` (inside the client).
    """
    now = timezone.now()
    try:
        info = client.get_userinfo(connection, actor=actor)
    except ConnectorError as exc:
        Connection.objects.filter(pk=connection.pk).update(
            last_checked_at=now, last_error=exc.message[:200]
        )
        _record_check(connection, actor, request, AuditEvent.Outcome.FAILURE, {"code": exc.code})
        return exc

    Connection.objects.filter(pk=connection.pk).update(
        last_checked_at=now, last_error="", keap_user_email=info.email
    )
    _record_check(connection, actor, request, AuditEvent.Outcome.SUCCESS, {})
    return None


def wait_for_check(connection, checked_before, timeout):
    """Wait up to `timeout` seconds for a queued check of `connection` to finish.

    Returns the connection reloaded; its `last_checked_at` still equals `checked_before` when
    the check has not finished.
    """
    deadline = time.monotonic() + timeout
    while True:
        current = Connection.objects.get(pk=connection.pk)
        if current.last_checked_at != checked_before or time.monotonic() >= deadline:
            return current
        time.sleep(0.2)


def _record_check(connection, actor, request, outcome, details):
    record_event(
        connection.tenant,
        "connection.checked",
        **actor.audit_fields(),
        target_type="connection",
        target_id=connection.public_id,
        outcome=outcome,
        details=details,
        request=request,
    )


def do_mark_connection_needs_reauth(connection, *, code):
    """Mark an active connection `needs_reauth`, stopping its calls, and email its admins once.

    Returns whether the status changed; a connection already marked or revoked is left alone,
    so repeated failures send one email.
    """
    now = timezone.now()
    with transaction.atomic():
        changed = Connection.objects.filter(
            pk=connection.pk, status=Connection.Status.ACTIVE
        ).update(
            status=Connection.Status.NEEDS_REAUTH,
            status_changed_at=now,
            last_error=error_messages[code][:200],
        )
        if not changed:
            return False

        record_event(
            connection.tenant,
            "connection.needs_reauth",
            **SYSTEM.audit_fields(),
            target_type="connection",
            target_id=connection.public_id,
            details={"old": "active", "new": "needs_reauth", "code": code},
        )
        transaction.on_commit(lambda: _email_needs_reauth(connection.pk))

    logger.warning(
        "[connection=%s tenant=%s] marked needs_reauth: %s",
        connection.public_id,
        connection.tenant.public_id,
        code,
    )
    return True


def _email_needs_reauth(connection_pk):
    connection = Connection.objects.select_related("tenant").get(pk=connection_pk)
    recipients = list(
        Membership.objects.for_tenant(connection.tenant)
        .filter(role__in=[Membership.Role.OWNER, Membership.Role.ADMIN], user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return

    url = settings.PORTAL_BASE_URL.rstrip("/") + connection.get_absolute_url()
    body = (
        f"Keap stopped accepting the portal's connection to {connection.display_name} "
        f"(tenant {connection.tenant.name}).\n\n"
        "No Keap calls are made through this connection until it is reconnected. To reconnect, "
        f"open {url} and press Reconnect.\n"
    )
    send_mail(
        f"Reconnect your Keap account {connection.display_name}",
        body,
        None,
        recipients,
    )


# --- Revoking -------------------------------------------------------------------------------


def do_revoke_connection(connection, *, actor: Actor, request=None) -> bool:
    """Revoke `connection`: destroy its credentials and stop every call through it.

    Locks the connection row first, so calls already sending finish and any later call sees
    `revoked` and is not sent. Returns False when it was already revoked, so revoking twice is
    harmless. Keap documents no revocation endpoint; the owner must also delete the key or
    remove the app in Keap.
    """
    with transaction.atomic():
        locked = Connection.objects.select_for_update().filter(pk=connection.pk).first()
        if locked is None or locked.status == Connection.Status.REVOKED:
            return False

        old_status = locked.status
        deleted, _ = Credential.objects.filter(connection=locked).delete()
        now = timezone.now()
        locked.status = Connection.Status.REVOKED
        locked.revoked_at = now
        locked.status_changed_at = now
        locked.last_error = ""
        locked.save(update_fields=["status", "revoked_at", "status_changed_at", "last_error"])

        # Running jobs stop at their next Keap call, which the client refuses for a revoked
        # connection.
        jobs_cancelled = cancel_jobs_for_connection(locked)
        record_event(
            locked.tenant,
            "connection.revoked",
            **actor.audit_fields(),
            target_type="connection",
            target_id=locked.public_id,
            details={
                "old": old_status,
                "new": "revoked",
                "credentials_deleted": deleted,
                "jobs_cancelled": jobs_cancelled,
            },
            request=request,
        )

    logger.info("[connection=%s tenant=%s] revoked", locked.public_id, locked.tenant.public_id)
    return True
