"""The Keap REST client: one function per endpoint, plus the credential handling they share.

This module is the only place that decrypts a credential. Each call:
1. loads the connection's credential and checks the connection's status;
2. decrypts the PAT/SAK, or the OAuth access token after refreshing it when it is about to
   expire (under a row lock, so each rotated refresh token is sent to Keap at most once);
3. sends the request while holding a shared lock on the connection row that re-checks its
   status, so a revoke waits for calls in flight and no call starts after it commits;
4. parses Keap's answer, or raises ConnectorError.

Callers must not hold a database transaction: a refreshed token pair must be committed before
it is used, and the durable transactions below raise RuntimeError when nested.
"""

import json
import logging
import re
import time
from dataclasses import dataclass, field

import requests
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from connector import http
from connector.actor import SYSTEM, Actor
from connector.keap import oauth
from connector.keap.errors import ConnectorError, error_for_status
from connector.keap.quota import KeapQuota, parse_quota_headers
from connector.models import Connection, Credential
from connector.scopes import InvalidPathError, match_request
from connector.vault import VaultError, tenant_keys
from connector.vault import credentials as vault
from tenants.audit import record_event
from tenants.models import AuditEvent

logger = logging.getLogger(__name__)

MAX_LOGGED_BODY = 500

# Keap REST paths below KEAP_API_BASE_URL: a version, then path segments without `..`.
API_PATH = re.compile(r"/v[12]/[A-Za-z0-9_\-.:/%,]*")

API_KEY = Credential.Field.API_KEY
ACCESS_TOKEN = Credential.Field.ACCESS_TOKEN
REFRESH_TOKEN = Credential.Field.REFRESH_TOKEN


@dataclass(frozen=True)
class KeapResponse:
    status: int
    # Parsed JSON body, or None for an empty body.
    data: object
    quota: KeapQuota = field(default_factory=KeapQuota)


@dataclass(frozen=True)
class _AccessToken:
    token: str = field(repr=False)
    ciphertext: bytes = field(repr=False)
    # Whether a refresh request was sent to get it.
    refreshed: bool = False


@dataclass(frozen=True)
class KeapUserInfo:
    """The Keap user a credential acts as, and the Keap account it reaches."""

    user_id: str
    email: str
    keap_tenant_id: str
    given_name: str = ""
    family_name: str = ""
    is_admin: bool = False


# Reference: https://developer.infusionsoft.com/docs/restv2/ (GET /v2/oauth/connect/userinfo)
def get_userinfo(connection: Connection, *, actor: Actor = SYSTEM) -> KeapUserInfo:
    """Return the Keap user and account behind an active connection.

    No Keap user permission can withhold this endpoint, so it is also the health check.
    Raises ConnectorError like `call`.
    """
    response = _send(connection, "GET", "/v2/oauth/connect/userinfo", actor=actor, pending=False)
    return _parse_userinfo(response)


# Reference: https://developer.infusionsoft.com/docs/restv2/ (GET /v2/businessProfile)
def get_business_name(connection: Connection, *, actor: Actor = SYSTEM, pending=False) -> str:
    """Return the Keap account's business name, or "" when Keap sends none.

    Raises ConnectorError like `call`; a PAT of a non-admin user may get `forbidden`.
    """
    response = _send(connection, "GET", "/v2/businessProfile", actor=actor, pending=pending)
    data = response.data if isinstance(response.data, dict) else {}
    return str(data.get("name") or data.get("business_name") or "")[:200]


# Reference: https://developer.infusionsoft.com/docs/restv2/ (GET /v2/oauth/connect/userinfo)
def verify_pending_credential(connection: Connection, *, actor: Actor) -> KeapUserInfo:
    """Call userinfo with the connection's pending credential, the one a worker is checking.

    Works for a pending connection and for a reconnect of a live one; raises ConnectorError
    `connection_not_active` once the connection is revoked.
    """
    response = _send(connection, "GET", "/v2/oauth/connect/userinfo", actor=actor, pending=True)
    return _parse_userinfo(response)


def call(
    connection: Connection,
    method: str,
    path: str,
    query: dict | None = None,
    body: object = None,
    *,
    actor: Actor = SYSTEM,
) -> KeapResponse:
    """Send one request to Keap's REST API for an active connection and return the response.

    `path` is relative to KEAP_API_BASE_URL and starts with /v1/ or /v2/. Raises ValueError
    for any other path, and ConnectorError for every failure: `permanent` is False only for
    timeouts, network errors, 5xx and 429. A 401 marks the connection `needs_reauth` (OAuth
    connections first refresh once and retry), and every later call raises
    `connection_not_active` without reaching Keap.
    """
    if not API_PATH.fullmatch(path) or ".." in path:
        raise ValueError(f"Invalid Keap API path {path!r}: expected /v1/... or /v2/....")
    return _send(
        connection, method.upper(), path, query=query, body=body, actor=actor, pending=False
    )


def api_url(path: str) -> str:
    return settings.KEAP_API_BASE_URL.rstrip("/") + path


def refresh_if_due(connection: Connection, *, margin, actor: Actor = SYSTEM) -> bool:
    """Refresh an OAuth connection's tokens if the access token expires within `margin` (a
    timedelta) or the refresh token is older than 30 days; return whether a refresh request
    was sent.

    The decision is re-made under the credential's row lock, so running this twice, or next to
    calls that refresh on demand, sends one refresh request. Raises ConnectorError as `call`.
    """
    if connection.method != Connection.Method.OAUTH:
        return False

    def is_due(credential):
        return credential.is_access_token_due(margin=margin) or credential.is_refresh_token_old()

    access = _refresh_under_lock(connection, actor=actor, purpose="scheduled refresh", due=is_due)
    return access.refreshed


# --- Sending --------------------------------------------------------------------------------


def _send(connection, method, path, *, query=None, body=None, actor, pending) -> KeapResponse:
    purpose = f"{method} {path}"
    credential = _load_credential(connection, pending)
    headers, used_ciphertext = _auth_headers(credential, actor=actor, purpose=purpose)

    call = (credential, method, path, query, body, actor)
    response = _request_while_live(*call, headers)
    if response.status_code == 401 and _may_retry_with_refresh(credential, response):
        access = _refresh_under_lock(
            connection,
            actor=actor,
            purpose=purpose,
            due=lambda locked: bytes(locked.access_token_ciphertext) == used_ciphertext,
        )
        headers = {"Authorization": f"Bearer {access.token}"}
        response = _request_while_live(*call, headers)

    return _handle_response(credential, response, purpose)


def _load_credential(connection, pending) -> Credential:
    credential = (
        Credential.objects.select_related("tenant", "connection")
        .filter(connection_id=connection.pk, is_pending=pending)
        .first()
    )
    if credential is None:
        code = (
            "connection_not_active" if _status(connection.pk) == "revoked" else "credential_missing"
        )
        raise ConnectorError(code, permanent=True, detail=f"connection {connection.public_id}")

    _check_status(credential.connection.status, pending, credential.connection)
    return credential


def _check_status(status, pending, connection):
    live = status != Connection.Status.REVOKED if pending else status == Connection.Status.ACTIVE
    if not live:
        raise ConnectorError(
            "connection_not_active",
            permanent=True,
            detail=f"connection {connection.public_id} is {status}",
        )


def _status(connection_pk):
    return Connection.objects.filter(pk=connection_pk).values_list("status", flat=True).first()


def _auth_headers(credential, *, actor, purpose) -> tuple[dict, bytes | None]:
    """Return the auth headers and, for OAuth, the access-token ciphertext that was used."""
    try:
        if credential.connection.is_api_key:
            key = vault.decrypt(credential, API_KEY, actor=actor, purpose=purpose)
            return {"X-Keap-API-Key": key}, None

        if credential.is_pending or not credential.is_access_token_due():
            token = vault.decrypt(credential, ACCESS_TOKEN, actor=actor, purpose=purpose)
            return {"Authorization": f"Bearer {token}"}, bytes(credential.access_token_ciphertext)
    except VaultError as exc:
        _log_vault_error(credential, exc)
        raise ConnectorError("vault_error", permanent=True, detail=str(exc))

    access = _refresh_under_lock(
        credential.connection, actor=actor, purpose=purpose, due=Credential.is_access_token_due
    )
    return {"Authorization": f"Bearer {access.token}"}, access.ciphertext


def _request_while_live(credential, method, path, query, body, actor, headers):
    """Send the request inside a transaction that holds a shared lock on the connection row.

    A revoke takes the row's exclusive lock, so it waits for requests in flight, and a request
    that starts after the revoke committed sees the new status and is not sent. Every request
    sent writes one `keap.called` audit event, whatever its outcome.
    """
    connection = credential.connection
    url = api_url(path)
    kwargs = {"headers": headers, "params": query}
    if body is not None:
        kwargs["json"] = body

    with transaction.atomic(durable=True):
        status = _status_for_share(connection.pk)
        _check_status(status, credential.is_pending, connection)
        started = time.monotonic()
        try:
            response = http.request(method, url, **kwargs)
        except requests.Timeout:
            _record_call(credential, method, path, actor, started, error="timeout")
            _log_transport_error(credential, "timed out")
            raise ConnectorError("timeout", permanent=False, detail=f"{method} {url}")
        except requests.ConnectionError:
            _record_call(credential, method, path, actor, started, error="network_error")
            _log_transport_error(credential, "could not connect")
            raise ConnectorError("network_error", permanent=False, detail=f"{method} {url}")
        _record_call(credential, method, path, actor, started, status=response.status_code)
        return response


def _record_call(credential, method, path, actor, started, *, status=None, error=""):
    """Audit one request sent to Keap: method, path template, status and duration, no body."""
    try:
        matched = match_request(method, path)
    except InvalidPathError:
        matched = None
    details = {
        "method": method,
        "path": matched.operation.path if matched else path,
        "status": status,
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
    }
    if error:
        details["error"] = error
    record_event(
        credential.tenant,
        "keap.called",
        **actor.audit_fields(),
        target_type="connection",
        target_id=credential.connection.public_id,
        outcome=AuditEvent.Outcome.SUCCESS
        if status is not None and status < 400
        else AuditEvent.Outcome.FAILURE,
        details=details,
    )


def _status_for_share(connection_pk):
    if db_connection.vendor != "postgresql":
        # SQLite (the demo) has no row locks; its writers lock the whole database instead.
        return _status(connection_pk)
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT status FROM connector_connection WHERE id = %s FOR SHARE", [connection_pk]
        )
        row = cursor.fetchone()
    return row[0] if row else Connection.Status.REVOKED


def _may_retry_with_refresh(credential, response):
    # An OAuth access token can die before its stored expiry (Keap restarted, clock skew);
    # one refresh and retry distinguishes that from a grant that is gone.
    return credential.connection.method == Connection.Method.OAUTH and not credential.is_pending


def _handle_response(credential, response, purpose) -> KeapResponse:
    connection = credential.connection
    quota = parse_quota_headers(response.headers)
    if 200 <= response.status_code < 300:
        if not credential.is_pending:
            Connection.objects.filter(pk=connection.pk).update(last_success_at=timezone.now())
        return KeapResponse(response.status_code, _parse_json(response), quota)

    error = error_for_status(response.status_code, response.content, quota.retry_after)
    error.quota = quota
    logger.warning(
        "[connection=%s tenant=%s] Keap answered %s to %s: %s",
        connection.public_id,
        credential.tenant.public_id,
        response.status_code,
        purpose,
        response.content[:MAX_LOGGED_BODY].decode("utf-8", "replace"),
    )
    if response.status_code == 401 and not credential.is_pending:
        from connector.actions import do_mark_connection_needs_reauth

        do_mark_connection_needs_reauth(connection, code="invalid_credential")
    raise error


def _parse_json(response):
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        raise ConnectorError(
            "unexpected_response",
            permanent=True,
            status=response.status_code,
            detail="response body is not JSON",
        )


def _parse_userinfo(response) -> KeapUserInfo:
    data = response.data
    if not isinstance(data, dict) or not data.get("email"):
        raise ConnectorError(
            "unexpected_response", permanent=True, status=response.status, detail="userinfo"
        )
    return KeapUserInfo(
        user_id=str(data.get("id") or data.get("sub") or ""),
        email=str(data["email"]),
        keap_tenant_id=str(data.get("tenant_id") or response.quota.tenant_id or ""),
        given_name=str(data.get("given_name") or ""),
        family_name=str(data.get("family_name") or ""),
        is_admin=bool(data.get("is_admin")),
    )


# --- Refresh --------------------------------------------------------------------------------


def _refresh_under_lock(connection, *, actor, purpose, due) -> _AccessToken:
    """Return the current access token, refreshing first if `due(credential)` holds.

    Steps:
    1. Lock the credential row (FOR UPDATE) and re-read it, so a waiter sees the pair that
       the previous lock holder committed and does not refresh again.
    2. If still due, send the refresh token to Keap while holding the lock.
    3. Store the new pair and commit before returning, so the rotated refresh token is never
       lost after Keap has invalidated the old one.
    A failure is audited; a rejected refresh (HTTP 400) marks the connection `needs_reauth`.
    """
    failure = None
    with transaction.atomic(durable=True):
        credential = (
            Credential.objects.select_for_update(of=("self",))
            .select_related("tenant", "connection")
            .filter(connection_id=connection.pk, is_pending=False)
            .first()
        )
        if credential is None:
            raise ConnectorError("credential_missing", permanent=True)
        _check_status(credential.connection.status, False, credential.connection)
        try:
            handle = tenant_keys.load_handle(credential.tenant, for_encrypt=True)
            if not due(credential):
                token = vault.decrypt(
                    credential, ACCESS_TOKEN, actor=actor, purpose=purpose, handle=handle
                )
                return _AccessToken(token, bytes(credential.access_token_ciphertext))
            refresh_token = vault.decrypt(
                credential, REFRESH_TOKEN, actor=actor, purpose="refresh", handle=handle
            )
        except VaultError as exc:
            _log_vault_error(credential, exc)
            raise ConnectorError("vault_error", permanent=True, detail=str(exc))

        started = time.monotonic()
        try:
            tokens = oauth.refresh_tokens(refresh_token)
        except ConnectorError as exc:
            failure = exc
        else:
            _store_refreshed(credential, tokens, refresh_token, handle, actor)
            result = _AccessToken(
                tokens.access_token, bytes(credential.access_token_ciphertext), refreshed=True
            )

    elapsed_ms = (time.monotonic() - started) * 1000
    if failure is not None:
        _record_refresh_failure(credential, failure, actor)
        raise failure

    logger.info(
        "[connection=%s tenant=%s] refreshed OAuth tokens in %.0fms",
        credential.connection.public_id,
        credential.tenant.public_id,
        elapsed_ms,
    )
    return result


def _store_refreshed(credential, tokens, old_refresh_token, handle, actor):
    now = timezone.now()
    rotated = tokens.refresh_token != old_refresh_token
    credential.access_token_expires_at = tokens.expires_at
    if rotated:
        credential.refresh_token_issued_at = now
    vault.encrypt_into(
        credential,
        {ACCESS_TOKEN: tokens.access_token, REFRESH_TOKEN: tokens.refresh_token},
        handle,
    )
    credential.save(
        update_fields=[
            "access_token_ciphertext",
            "refresh_token_ciphertext",
            "access_token_expires_at",
            "refresh_token_issued_at",
            "updated_at",
        ]
    )
    record_event(
        credential.tenant,
        "token.refreshed",
        **actor.audit_fields(),
        target_type="connection",
        target_id=credential.connection.public_id,
        details={
            "new": {"access_token_expires_at": tokens.expires_at.isoformat()},
            "refresh_token_rotated": rotated,
        },
    )


def _record_refresh_failure(credential, error, actor):
    connection = credential.connection
    logger.warning(
        "[connection=%s tenant=%s] token refresh failed: %s",
        connection.public_id,
        credential.tenant.public_id,
        error,
    )
    record_event(
        credential.tenant,
        "token.refresh_failed",
        **actor.audit_fields(),
        target_type="connection",
        target_id=connection.public_id,
        outcome=AuditEvent.Outcome.FAILURE,
        details={"code": error.code, "status": error.status, "permanent": error.permanent},
    )
    Connection.objects.filter(pk=connection.pk).update(last_error=error.message[:200])
    if error.code == "refresh_rejected":
        from connector.actions import do_mark_connection_needs_reauth

        do_mark_connection_needs_reauth(connection, code=error.code)


def _log_vault_error(credential, exc):
    logger.error(
        "[connection=%s tenant=%s] %s",
        credential.connection.public_id,
        credential.tenant.public_id,
        exc,
    )


def _log_transport_error(credential, what):
    logger.warning(
        "[connection=%s tenant=%s] Keap request %s",
        credential.connection.public_id,
        credential.tenant.public_id,
        what,
    )
