"""Pages for the current tenant's Keap connections: list, connect, check, reconnect, revoke."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connector import actions, oauth_state, tasks
from connector.actor import Actor
from connector.keap import oauth
from connector.keap.errors import ConnectorError, error_messages
from connector.models import Connection
from portal.forms import ApiKeyForm
from tenants.access import (
    access_object,
    check_permission,
    current_membership,
    mfa_required,
    recent_login_required,
    require_permission,
    tenant_required,
)

logger = logging.getLogger(__name__)

# Seconds the "Test connection" button waits for the worker's result.
CHECK_WAIT_SECONDS = 8


@require_GET
@require_permission("connection.view")
def connection_list(request):
    connections = (
        Connection.objects.for_tenant(request.tenant)
        .exclude(status=Connection.Status.REVOKED)
        .select_related("created_by")
        .order_by("-created_at")
    )
    ctx = {"connections": connections, "oauth_enabled": oauth.is_configured()}
    return render(request, "portal/connections/list.html", ctx)


@require_GET
@tenant_required
def connection_detail(request, connection_id):
    connection = access_object(request, Connection, connection_id, permission="connection.view")
    credential = connection.credentials.filter(is_pending=False).first()
    ctx = {
        "connection": connection,
        "key_hint": credential.key_hint if credential else "",
        "access_token_expires_at": credential.access_token_expires_at if credential else None,
        "oauth_enabled": oauth.is_configured(),
    }
    return render(request, "portal/connections/detail.html", ctx)


@require_http_methods(["GET", "POST"])
@require_permission("connection.manage")
@mfa_required
def connection_add_key(request):
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _save_key(request, form, reconnect=None)

    status = 400 if form.errors else 200
    ctx = {"form": form, "oauth_enabled": oauth.is_configured()}
    return render(request, "portal/connections/add_key.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@tenant_required
def connection_reconnect(request, connection_id):
    connection = access_object(request, Connection, connection_id, permission="connection.manage")
    return _reconnect(request, connection)


@mfa_required
def _reconnect(request, connection):
    if connection.status not in actions.LIVE_STATUSES:
        messages.error(request, error_messages["connection_not_active"])
        return redirect(connection)

    if connection.method == Connection.Method.OAUTH:
        if request.method == "POST":
            return _redirect_to_keap(request, reconnect=connection)
        ctx = {"connection": connection, "oauth_enabled": oauth.is_configured()}
        return render(request, "portal/connections/reconnect.html", ctx)

    form = ApiKeyForm(request.POST or None, method=connection.method)
    if request.method == "POST" and form.is_valid():
        return _save_key(request, form, reconnect=connection)
    status = 400 if form.errors else 200
    ctx = {"connection": connection, "form": form}
    return render(request, "portal/connections/reconnect.html", ctx, status=status)


def _save_key(request, form, *, reconnect):
    method = reconnect.method if reconnect else form.cleaned_data["method"]
    try:
        credential = actions.do_add_pending_api_key(
            request.tenant,
            method=method,
            key=form.cleaned_data["key"],
            actor=Actor.for_user(request.user),
            reconnect=reconnect,
            request=request,
        )
    except ConnectorError as error:
        messages.error(request, error.message)
        return redirect("connection_list")

    result = actions.wait_for_verification(credential)
    if result is not None and result["outcome"] == "failed":
        form.add_error(
            "key", error_messages.get(result["code"], error_messages["invalid_credential"])
        )
        template = "reconnect.html" if reconnect else "add_key.html"
        ctx = {"form": form, "connection": reconnect, "oauth_enabled": oauth.is_configured()}
        return render(request, f"portal/connections/{template}", ctx, status=400)

    return _after_verification(request, credential, result)


def _after_verification(request, credential, result):
    connection = (
        Connection.objects.for_tenant(request.tenant).filter(pk=credential.connection_id).first()
    )
    if result is None:
        messages.info(
            request,
            "Keap has not answered yet. The connection is shown as being checked; reload this "
            "page in a minute.",
        )
    elif result["outcome"] == "reconnected":
        messages.success(request, f"Reconnected {connection.label}.")
    else:
        messages.success(request, f"Connected Keap account {connection.label}.")
    return redirect(connection) if connection else redirect("connection_list")


@require_POST
@require_permission("connection.manage")
@mfa_required
def connection_oauth_start(request):
    return _redirect_to_keap(request, reconnect=None)


def _redirect_to_keap(request, *, reconnect):
    if not oauth.is_configured():
        return render(request, "portal/connections/oauth_disabled.html", status=404)
    return redirect(oauth_state.begin(request.session, request.tenant, reconnect=reconnect))


@require_GET
@login_required
def connection_oauth_callback(request):
    try:
        response = _oauth_callback(request)
    except PermissionDenied:
        response = render(request, "403.html", status=403)
    # The URL carried an authorization code; no page it leads to may send it on as a referrer.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _oauth_callback(request):
    membership = current_membership(request)
    try:
        entry = oauth_state.consume(
            request.session, request.GET.get("state", ""), membership.tenant if membership else None
        )
    except oauth_state.OAuthStateError as error:
        logger.warning("OAuth callback rejected: %s state", error.code)
        messages.error(request, error.message)
        return redirect("connection_list")

    check_permission(request, "connection.manage")
    error = request.GET.get("error", "")
    if error == "access_denied":
        messages.warning(request, "Connecting to Keap was cancelled. Nothing was changed.")
        return redirect("connection_list")
    if error or not request.GET.get("code"):
        messages.error(request, error_messages["oauth_exchange_failed"])
        return redirect("connection_list")

    return _finish_oauth(request, entry)


def _finish_oauth(request, entry):
    reconnect = None
    if entry["reconnect"]:
        reconnect = (
            Connection.objects.for_tenant(request.tenant)
            .filter(public_id=entry["reconnect"])
            .first()
        )
    try:
        tokens = oauth.exchange_code(request.GET["code"], entry["verifier"])
        credential = actions.do_add_pending_oauth(
            request.tenant,
            tokens=tokens,
            actor=Actor.for_user(request.user),
            reconnect=reconnect,
            request=request,
        )
    except ConnectorError as error:
        messages.error(request, error.message)
        return redirect("connection_list")

    result = actions.wait_for_verification(credential)
    if result is not None and result["outcome"] == "failed":
        messages.error(
            request, error_messages.get(result["code"], error_messages["invalid_credential"])
        )
        return redirect(reconnect or "connection_list")
    return _after_verification(request, credential, result)


@require_POST
@tenant_required
def connection_check(request, connection_id):
    connection = access_object(request, Connection, connection_id, permission="connection.use")
    checked_before = connection.last_checked_at

    tasks.check_connection.delay(connection.pk, request.user.pk)
    connection = actions.wait_for_check(connection, checked_before, CHECK_WAIT_SECONDS)

    if connection.last_checked_at == checked_before:
        messages.info(request, "Keap has not answered yet. Reload this page in a minute.")
    elif connection.last_error:
        messages.error(request, f"The test failed. {connection.last_error}")
    else:
        messages.success(request, "Keap accepted the connection.")
    return redirect(connection)


@require_http_methods(["GET", "POST"])
@tenant_required
def connection_revoke(request, connection_id):
    connection = access_object(request, Connection, connection_id, permission="connection.manage")
    return _revoke(request, connection)


@recent_login_required
def _revoke(request, connection):
    if request.method == "GET":
        return render(request, "portal/connections/revoke.html", {"connection": connection})

    changed = actions.do_revoke_connection(
        connection, actor=Actor.for_user(request.user), request=request
    )
    if changed:
        messages.success(
            request,
            f"Revoked {connection.label}. Its stored credential is destroyed and no "
            "more Keap calls are made through it.",
        )
    else:
        messages.info(request, f"{connection.label} was already revoked.")
    return redirect("connection_list")
