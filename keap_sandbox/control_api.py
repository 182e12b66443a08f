"""The sandbox's control API under `/_sandbox/`: JSON in, JSON out, no credentials.

It is the only way to change state outside Keap's own endpoints. It exists only in the sandbox
process, and the sandbox app is never installed in production. docs/sandbox.md lists every
endpoint.
"""

from dataclasses import asdict
from datetime import datetime

from keap_sandbox import model, seed
from keap_sandbox.http import HttpError, Request, Response, Router
from keap_sandbox.paging import iso
from keap_sandbox.state import SandboxState


def _bad_request(message: str) -> HttpError:
    return HttpError(Response.json({"error": message}, status=400))


def _not_found(message: str) -> HttpError:
    return HttpError(Response.json({"error": message}, status=404))


def _body(request: Request) -> dict:
    try:
        body = request.json()
    except ValueError:
        raise _bad_request("Invalid JSON in the request body.")
    if not isinstance(body, dict):
        raise _bad_request("Invalid request body: send a JSON object.")
    return body


def _account(state: SandboxState, request: Request):
    app_name = request.path_params["app_name"]
    try:
        return state.get_account(app_name)
    except KeyError:
        raise _not_found(f"Account {app_name!r} not found.")


def _account_json(account) -> dict:
    return {
        "app_name": account.app_name,
        "tenant_id": account.tenant_id,
        "name": account.name,
        "users": [asdict(user) for user in account.users.values()],
        "counts": {
            "contacts": len(account.contacts),
            "tags": len(account.tags),
            "tag_categories": len(account.tag_categories),
            "custom_fields": len(account.custom_fields),
            "companies": len(account.companies),
            "hooks": len(account.hooks),
        },
    }


def _key_json(api_key, *, with_secret: bool = False) -> dict:
    data = {
        "key_id": api_key.key_id,
        "kind": api_key.kind,
        "tenant_id": f"{api_key.app_name}.infusionsoft.com",
        "app_name": api_key.app_name,
        "user_id": api_key.user_id,
        "name": api_key.name,
        "created_at": iso(api_key.created_at),
        "last_used_at": iso(api_key.last_used_at),
        "is_deleted": api_key.is_deleted,
        "truncated_key": api_key.key[:11] + "…" + api_key.key[-4:],
    }
    if with_secret:
        data["key"] = api_key.key
    return data


def _token_json(state: SandboxState, token) -> dict:
    return {
        "token_id": token.token_id,
        "type": "access" if token.token_id.startswith("access") else "refresh",
        "client_id": token.client_id,
        "tenant_id": f"{token.app_name}.infusionsoft.com",
        "user_id": token.user_id,
        "expires_at": iso(token.expires_at),
        "is_expired": token.expires_at <= state.now(),
        "is_revoked": token.is_revoked,
        "is_used": getattr(token, "is_used", False),
    }


# --- Handlers ----------------------------------------------------------------------------------


def index(state: SandboxState, request: Request) -> Response:
    return Response.json(
        {"endpoints": sorted({f"{method} {path}" for method, path, _ in ENDPOINTS})}
    )


def reset(state: SandboxState, request: Request) -> Response:
    body = _body(request)
    state.reset()
    summary = seed.seed_demo(state) if body.get("demo") else None
    return Response.json({"reset": True, "demo": summary})


def seed_demo(state: SandboxState, request: Request) -> Response:
    try:
        return Response.json(seed.seed_demo(state), status=201)
    except ValueError as exc:
        raise _bad_request(str(exc))


def list_accounts(state: SandboxState, request: Request) -> Response:
    return Response.json({"accounts": [_account_json(a) for a in state.accounts.values()]})


def create_account(state: SandboxState, request: Request) -> Response:
    """Create an account, with an admin user unless `users` is given, and sample data if asked."""
    body = _body(request)
    try:
        account = seed.create_account(
            state, body.get("app_name"), body.get("name"), body.get("profile")
        )
        users = body.get("users") or [
            {
                "email": f"admin@{account.app_name}.example.com",
                "given_name": "Ada",
                "family_name": "Admin",
                "is_admin": True,
            }
        ]
        for user in users:
            _add_user(state, account, user)
    except ValueError as exc:
        state.accounts.pop(body.get("app_name") or "", None)
        raise _bad_request(str(exc))
    if body.get("sample_data"):
        seed.seed_sample_data(state, account)
    return Response.json(_account_json(account), status=201)


def get_account(state: SandboxState, request: Request) -> Response:
    return Response.json(_account_json(_account(state, request)))


def _add_user(state: SandboxState, account, body: dict):
    missing = [name for name in ("email", "given_name", "family_name") if not body.get(name)]
    if missing:
        raise ValueError(f"Missing user fields: {', '.join(missing)}.")
    return seed.add_user(
        state,
        account,
        body["email"],
        body["given_name"],
        body["family_name"],
        is_admin=bool(body.get("is_admin")),
    )


def create_user(state: SandboxState, request: Request) -> Response:
    account = _account(state, request)
    try:
        user = _add_user(state, account, _body(request))
    except ValueError as exc:
        raise _bad_request(str(exc))
    return Response.json(asdict(user) | {"tenant_id": account.tenant_id}, status=201)


def list_oauth_clients(state: SandboxState, request: Request) -> Response:
    return Response.json({"oauth_clients": [asdict(c) for c in state.oauth_clients.values()]})


def create_oauth_client(state: SandboxState, request: Request) -> Response:
    body = _body(request)
    try:
        client = seed.create_oauth_client(
            state,
            body.get("redirect_uris") or [],
            body.get("client_id"),
            body.get("client_secret"),
            body.get("name") or "Sandbox OAuth client",
        )
    except ValueError as exc:
        raise _bad_request(str(exc))
    return Response.json(asdict(client), status=201)


def list_api_keys(state: SandboxState, request: Request) -> Response:
    return Response.json({"api_keys": [_key_json(k) for k in state.api_keys.values()]})


def create_api_key(state: SandboxState, request: Request) -> Response:
    """Create a PAT or SAK. The response contains the full key, which Keap also shows only once."""
    body = _body(request)
    if not body.get("app_name"):
        raise _bad_request("Missing app_name: name the account the key belongs to.")
    try:
        api_key = seed.create_api_key(
            state,
            body["app_name"],
            body.get("kind") or "PAT",
            body.get("user_id"),
            body.get("name") or "Sandbox key",
        )
    except KeyError:
        raise _not_found(f"Account {body['app_name']!r} not found.")
    except ValueError as exc:
        raise _bad_request(str(exc))
    return Response.json(_key_json(api_key, with_secret=True), status=201)


def delete_api_key(state: SandboxState, request: Request) -> Response:
    """Delete a key; Keap's gateway then rejects it with `invalid_access_token`.

    Keap documents that a deletion may take several minutes to reach its gateway. The sandbox
    applies it at once.
    """
    api_key = state.api_keys.get(request.path_params["key_id"])
    if api_key is None:
        raise _not_found(f"API key {request.path_params['key_id']!r} not found.")
    api_key.is_deleted = True
    return Response.json(_key_json(api_key))


def list_tokens(state: SandboxState, request: Request) -> Response:
    tokens = [*state.access_tokens.values(), *state.refresh_tokens.values()]
    return Response.json({"tokens": [_token_json(state, t) for t in tokens]})


def _find_token(state: SandboxState, body: dict):
    if body.get("token"):
        token = state.access_tokens.get(body["token"]) or state.refresh_tokens.get(body["token"])
    elif body.get("token_id"):
        token = state.find_token(body["token_id"])
    else:
        raise _bad_request("Missing token or token_id.")
    if token is None:
        raise _not_found("Token not found.")
    return token


def revoke_token(state: SandboxState, request: Request) -> Response:
    token = _find_token(state, _body(request))
    token.is_revoked = True
    return Response.json(_token_json(state, token))


def expire_token(state: SandboxState, request: Request) -> Response:
    token = _find_token(state, _body(request))
    token.expires_at = state.now()
    return Response.json(_token_json(state, token))


def get_settings(state: SandboxState, request: Request) -> Response:
    return Response.json(
        {
            "limits": state.quota_limits.as_dict(),
            "lifetimes": asdict(state.lifetimes),
            "hook_time_scale": state.hook_time_scale,
        }
    )


def update_settings(state: SandboxState, request: Request) -> Response:
    """Change quota limits, token lifetimes (seconds) and the hook time scale."""
    body = _body(request)
    try:
        state.quota_limits.update(body.get("limits") or {})
    except ValueError as exc:
        raise _bad_request(str(exc))
    for name, value in (body.get("lifetimes") or {}).items():
        if not hasattr(state.lifetimes, name) or not isinstance(value, int) or value < 0:
            raise _bad_request(
                f"Invalid lifetime {name}={value!r}: use access_token, refresh_token or "
                "authorization_code with whole seconds."
            )
        setattr(state.lifetimes, name, value)
    if "hook_time_scale" in body:
        scale = body["hook_time_scale"]
        if not isinstance(scale, int | float) or scale < 0:
            raise _bad_request(f"Invalid hook_time_scale {scale!r}: use a number from 0.")
        state.hook_time_scale = float(scale)
    return get_settings(state, request)


def get_faults(state: SandboxState, request: Request) -> Response:
    return Response.json(state.faults.as_dict())


def add_fault(state: SandboxState, request: Request) -> Response:
    try:
        rule = state.faults.add(_body(request))
    except ValueError as exc:
        raise _bad_request(str(exc))
    return Response.json(asdict(rule), status=201)


def clear_faults(state: SandboxState, request: Request) -> Response:
    seed_value = request.arg("seed")
    state.faults.clear(int(seed_value) if seed_value else None)
    return Response.json(state.faults.as_dict())


def get_clock(state: SandboxState, request: Request) -> Response:
    data = state.clock.describe()
    return Response.json(data | {"iso": iso(data["now"])})


def set_clock(state: SandboxState, request: Request) -> Response:
    """Set (`set`: epoch seconds or ISO-8601), `advance` (seconds) or `follow_real_time`."""
    body = _body(request)
    if "set" in body:
        state.clock.set(_epoch(body["set"]), frozen=body.get("frozen", True))
    if "advance" in body:
        if not isinstance(body["advance"], int | float):
            raise _bad_request(f"Invalid advance {body['advance']!r}: give seconds.")
        state.clock.advance(body["advance"])
    if body.get("follow_real_time"):
        state.clock.follow_real_time(keep_offset=bool(body.get("keep_offset")))
    return get_clock(state, request)


def _epoch(value) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _bad_request(f"Invalid time {value!r}: give epoch seconds or ISO-8601.")


def list_requests(state: SandboxState, request: Request) -> Response:
    entries = list(state.request_log)
    since = request.arg("since")
    if since:
        entries = [e for e in entries if e["seq"] > int(since)]
    prefix = request.arg("path_prefix")
    if prefix:
        entries = [e for e in entries if e["path"].startswith(prefix)]
    credential = request.arg("credential")
    if credential:
        entries = [e for e in entries if e["credential"] == credential]
    return Response.json({"requests": entries})


def clear_requests(state: SandboxState, request: Request) -> Response:
    state.request_log.clear()
    return Response.json({"requests": []})


def list_contacts(state: SandboxState, request: Request) -> Response:
    account = _account(state, request)
    contacts = sorted(account.contacts.values(), key=lambda c: c["id"])
    fields = [*model.V2_DEFAULT_CONTACT_FIELDS, "custom_fields"]
    return Response.json({"contacts": [model.contact_v2(c, account, fields) for c in contacts]})


def seed_contacts(state: SandboxState, request: Request) -> Response:
    """Store contacts given in v2 shape (`{"contacts": [...]}`) without firing REST hooks."""
    account = _account(state, request)
    bodies = _body(request).get("contacts")
    if not isinstance(bodies, list):
        raise _bad_request("Missing contacts: send a list of contacts in v2 shape.")
    try:
        created = [seed.seed_contact(state, account, body) for body in bodies]
    except HttpError as exc:
        raise _bad_request(exc.response.body.decode())
    fields = [*model.V2_DEFAULT_CONTACT_FIELDS, "custom_fields"]
    return Response.json(
        {"contacts": [model.contact_v2(c, account, fields) for c in created]}, status=201
    )


def list_hook_deliveries(state: SandboxState, request: Request) -> Response:
    hooks_by_account = {
        account.tenant_id: [
            {k: v for k, v in hook.items() if k != "secret"} for hook in account.hooks.values()
        ]
        for account in state.accounts.values()
    }
    return Response.json({"hooks": hooks_by_account, "deliveries": state.hook_deliveries})


ENDPOINTS = [
    ("GET", "/_sandbox/", index),
    ("POST", "/_sandbox/reset", reset),
    ("POST", "/_sandbox/demo", seed_demo),
    ("GET", "/_sandbox/accounts", list_accounts),
    ("POST", "/_sandbox/accounts", create_account),
    ("GET", "/_sandbox/accounts/{app_name}", get_account),
    ("POST", "/_sandbox/accounts/{app_name}/users", create_user),
    ("GET", "/_sandbox/accounts/{app_name}/contacts", list_contacts),
    ("POST", "/_sandbox/accounts/{app_name}/contacts", seed_contacts),
    ("GET", "/_sandbox/oauth-clients", list_oauth_clients),
    ("POST", "/_sandbox/oauth-clients", create_oauth_client),
    ("GET", "/_sandbox/api-keys", list_api_keys),
    ("POST", "/_sandbox/api-keys", create_api_key),
    ("DELETE", "/_sandbox/api-keys/{key_id}", delete_api_key),
    ("GET", "/_sandbox/tokens", list_tokens),
    ("POST", "/_sandbox/tokens/revoke", revoke_token),
    ("POST", "/_sandbox/tokens/expire", expire_token),
    ("GET", "/_sandbox/settings", get_settings),
    ("PATCH", "/_sandbox/settings", update_settings),
    ("GET", "/_sandbox/faults", get_faults),
    ("POST", "/_sandbox/faults", add_fault),
    ("DELETE", "/_sandbox/faults", clear_faults),
    ("GET", "/_sandbox/clock", get_clock),
    ("POST", "/_sandbox/clock", set_clock),
    ("GET", "/_sandbox/requests", list_requests),
    ("DELETE", "/_sandbox/requests", clear_requests),
    ("GET", "/_sandbox/hooks", list_hook_deliveries),
]


def build_router() -> Router:
    router = Router()
    for method, path, handler in ENDPOINTS:
        router.add(method, path, handler)
    return router


def handle(router: Router, state: SandboxState, request: Request) -> Response:
    handler, params, path_known = router.match(request.method, request.path)
    if handler is None:
        status = 405 if path_known else 404
        return Response.json(
            {"error": f"No control endpoint {request.method} {request.path}."}, status
        )
    request.path_params = params
    with state.lock:
        try:
            return handler(state, request)
        except HttpError as exc:
            return exc.response
