"""OAuth 2.0 as Keap runs it: an authorize page and a token endpoint.

References: https://developer.infusionsoft.com/getting-started-oauth-keys and
https://developer.infusionsoft.com/authentication. Keap supports only `response_type=code` and
`scope=full`, the authorization_code and refresh_token grants, and rotating refresh tokens. It
documents no PKCE, so `code_challenge`, `code_challenge_method` and `code_verifier` are accepted
and ignored.
"""

import base64
import binascii
import html
import secrets
from urllib.parse import urlencode, urlsplit

from keap_sandbox.errors import oauth_error
from keap_sandbox.http import Request, Response
from keap_sandbox.state import AuthorizationCode, SandboxState

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_redirect_uri(uri: str) -> None:
    """Raise ValueError unless `uri` is HTTPS, or plain HTTP on this machine."""
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return
    raise ValueError(
        f"Invalid redirect URI {uri!r}: Keap requires HTTPS; the sandbox also allows "
        "http://127.0.0.1 and http://localhost."
    )


def _with_query(uri: str, params: dict) -> str:
    separator = "&" if urlsplit(uri).query else "?"
    return uri + separator + urlencode({k: v for k, v in params.items() if v is not None})


def _error_page(message: str, status: int = 400) -> Response:
    body = (
        "<!doctype html><title>Keap sandbox: authorization failed</title>"
        f"<h1>Authorization failed</h1><p>{html.escape(message)}</p>"
    )
    return Response.html(body, status=status)


def _check_authorize_request(state: SandboxState, params: dict) -> Response | None:
    """Return the response that ends an invalid authorize request, or None when it is valid.

    A bad client or redirect URI gets an error page, never a redirect, so that an attacker
    cannot bounce the browser to an unregistered address (RFC 6749 section 4.1.2.1).
    """
    client = state.oauth_clients.get(params.get("client_id") or "")
    if client is None:
        return _error_page(f"Unknown client_id {params.get('client_id')!r}.")
    redirect_uri = params.get("redirect_uri") or ""
    if redirect_uri not in client.redirect_uris:
        return _error_page(
            f"Invalid redirect_uri {redirect_uri!r}: it must equal a URI registered for "
            "this client."
        )
    if params.get("response_type") != "code":
        return Response.redirect(
            _with_query(
                redirect_uri,
                {"error": "unsupported_response_type", "state": params.get("state")},
            )
        )
    if params.get("scope", "full") not in ("", "full"):
        return Response.redirect(
            _with_query(redirect_uri, {"error": "invalid_scope", "state": params.get("state")})
        )
    return None


def authorize_page(state: SandboxState, request: Request) -> Response:
    """Show the consent page: the sandbox user picks an account's user, then approves or denies."""
    params = {name: request.arg(name) for name in request.query}
    with state.lock:
        failure = _check_authorize_request(state, params)
        if failure:
            return failure
        client = state.oauth_clients[params["client_id"]]
        choices = [
            (account, user)
            for account in state.accounts.values()
            for user in account.users.values()
        ]
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value or "")}">'
        for name, value in params.items()
    )
    options = "".join(
        f'<li><label><input type="radio" name="user_id" value="{user.id}"'
        f"{' checked' if index == 0 else ''}> {html.escape(user.given_name)} "
        f"{html.escape(user.family_name)} &lt;{html.escape(user.email)}&gt; in "
        f"{html.escape(account.name)} ({html.escape(account.tenant_id)})</label></li>"
        for index, (account, user) in enumerate(choices)
    )
    body = (
        "<!doctype html><meta charset='utf-8'><title>Keap sandbox: allow access</title>"
        f"<h1>{html.escape(client.name)} wants full access to a Keap account</h1>"
        f'<form method="post" action="/app/oauth/authorize">{hidden}'
        f"<p>Sign in as:</p><ul>{options or '<li>No sandbox users exist.</li>'}</ul>"
        '<button type="submit" name="decision" value="allow">Allow</button> '
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )
    return Response.html(body)


def authorize_decision(state: SandboxState, request: Request) -> Response:
    """Handle the consent form: redirect back with a code, or with `error=access_denied`."""
    params = request.form()
    with state.lock:
        failure = _check_authorize_request(state, params)
        if failure:
            return failure
        redirect_uri = params["redirect_uri"]
        if params.get("decision") != "allow":
            return Response.redirect(
                _with_query(redirect_uri, {"error": "access_denied", "state": params.get("state")})
            )
        found = state.find_user(_int_or_zero(params.get("user_id")))
        if found is None:
            return _error_page(f"Unknown sandbox user {params.get('user_id')!r}.")
        account, user = found
        code = AuthorizationCode(
            code=secrets.token_urlsafe(18),
            client_id=params["client_id"],
            redirect_uri=redirect_uri,
            app_name=account.app_name,
            user_id=user.id,
            expires_at=state.now() + state.lifetimes.authorization_code,
        )
        state.authorization_codes[code.code] = code
    return Response.redirect(
        _with_query(redirect_uri, {"code": code.code, "state": params.get("state")})
    )


def _int_or_zero(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- Token endpoint ----------------------------------------------------------------------------


def token_endpoint(state: SandboxState, request: Request) -> Response:
    """Exchange a code or a refresh token for a new access and refresh token pair."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        return oauth_error(
            "invalid_request", "Send the token request as application/x-www-form-urlencoded."
        )
    form = request.form()
    grant_type = form.get("grant_type")
    with state.lock:
        if grant_type == "authorization_code":
            return _exchange_code(state, form)
        if grant_type == "refresh_token":
            return _refresh(state, request, form)
    return oauth_error(
        "unsupported_grant_type",
        f"Invalid grant_type {grant_type!r}: use authorization_code or refresh_token.",
    )


def _client_error() -> Response:
    # RFC 6749 section 5.2: a failed client authentication is 401 invalid_client.
    response = oauth_error("invalid_client", "Invalid client id or secret.", status=401)
    response.headers["WWW-Authenticate"] = 'Basic realm="token"'
    return response


def _exchange_code(state: SandboxState, form: dict) -> Response:
    """Keap's code exchange sends client_id and client_secret in the form body."""
    client = state.oauth_clients.get(form.get("client_id") or "")
    if client is None or not secrets.compare_digest(
        client.client_secret, form.get("client_secret") or ""
    ):
        return _client_error()

    code = state.authorization_codes.get(form.get("code") or "")
    if code is None or code.client_id != client.client_id:
        return oauth_error("invalid_grant", "Invalid authorization code.")
    if code.is_used:
        # RFC 6749 section 4.1.2: a reused code revokes what it was exchanged for.
        _revoke_tokens_from_code(state, code)
        return oauth_error("invalid_grant", "Authorization code already used.")
    if code.expires_at <= state.now():
        return oauth_error("invalid_grant", "Authorization code expired.")
    if form.get("redirect_uri") != code.redirect_uri:
        return oauth_error("invalid_grant", "redirect_uri does not match the authorize request.")

    code.is_used = True
    access, refresh = state.issue_token_pair(client.client_id, code.app_name, code.user_id)
    code.issued_token_ids = [access.token_id, refresh.token_id]
    return _token_response(state, access, refresh)


def _revoke_tokens_from_code(state: SandboxState, code: AuthorizationCode) -> None:
    for token_id in code.issued_token_ids:
        token = state.find_token(token_id)
        if token is not None:
            token.is_revoked = True


def _refresh(state: SandboxState, request: Request, form: dict) -> Response:
    """Keap's refresh sends the client id and secret as HTTP Basic auth."""
    client_id, client_secret = basic_credentials(request)
    client = state.oauth_clients.get(client_id or "")
    if client is None or not secrets.compare_digest(client.client_secret, client_secret or ""):
        return _client_error()

    refresh = state.refresh_tokens.get(form.get("refresh_token") or "")
    invalid = (
        refresh is None
        or refresh.client_id != client.client_id
        or refresh.is_used
        or refresh.is_revoked
        or refresh.expires_at <= state.now()
        or refresh.app_name not in state.accounts
    )
    if invalid:
        return oauth_error("invalid_grant", "Invalid refresh token")

    # Keap rotates refresh tokens: the one just used stops working.
    refresh.is_used = True
    access, new_refresh = state.issue_token_pair(
        client.client_id, refresh.app_name, refresh.user_id
    )
    return _token_response(state, access, new_refresh)


def basic_credentials(request: Request) -> tuple[str | None, str | None]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret


def _token_response(state: SandboxState, access, refresh) -> Response:
    tenant_id = state.accounts[access.app_name].tenant_id
    body = {
        "access_token": access.token,
        "token_type": "bearer",
        "expires_in": round(access.expires_at - state.now()),
        "refresh_token": refresh.token,
        "scope": f"full|{tenant_id}",
    }
    return Response.json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
