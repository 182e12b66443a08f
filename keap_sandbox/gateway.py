"""The API gateway in front of `/crm/rest`: credentials first, then quotas, as Keap's does.

Keap's gateway authenticates before it routes, so an unauthenticated request to an unknown
path gets a 401, never a 404.
"""

from dataclasses import dataclass

from keap_sandbox import errors
from keap_sandbox.http import HttpError, Request, Response
from keap_sandbox.quotas import check_and_count
from keap_sandbox.state import Account, SandboxState, User


@dataclass
class Caller:
    """The account, user and credential behind one authenticated API request."""

    account: Account
    user: User
    credential_id: str
    key_subject: str | None = None
    client_subject: str | None = None


def read_credential(request: Request) -> tuple[str, str] | None:
    """Return ("key", value) or ("bearer", value) from the request headers, or None."""
    api_key = request.headers.get("x-keap-api-key", "").strip()
    if api_key:
        return "key", api_key
    authorization = request.headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "bearer", value.strip()
    return None


def authenticate(state: SandboxState, request: Request) -> Caller:
    """Return the caller, or raise HttpError with the gateway's 401 fault. Hold `state.lock`."""
    credential = read_credential(request)
    if credential is None:
        raise HttpError(errors.gateway_fault(errors.NO_CREDENTIAL))
    kind, value = credential

    # Keap accepts a PAT or SAK both in X-Keap-API-Key and as a bearer token.
    if kind == "key" or value.startswith("KeapAK-"):
        return _authenticate_key(state, value)
    return _authenticate_token(state, value)


def _authenticate_key(state: SandboxState, value: str) -> Caller:
    api_key = state.find_api_key(value)
    if api_key is None or api_key.is_deleted or api_key.app_name not in state.accounts:
        raise HttpError(errors.gateway_fault(errors.INVALID_TOKEN))
    account = state.accounts[api_key.app_name]
    user = account.users.get(api_key.user_id) or account.primary_user()
    api_key.last_used_at = state.now()
    return Caller(
        account=account,
        user=user,
        credential_id=api_key.key_id,
        key_subject="key:" + api_key.key_id,
    )


def _authenticate_token(state: SandboxState, value: str) -> Caller:
    token = state.access_tokens.get(value)
    if token is None or token.is_revoked or token.app_name not in state.accounts:
        raise HttpError(errors.gateway_fault(errors.INVALID_TOKEN))
    if token.expires_at <= state.now():
        raise HttpError(errors.gateway_fault(errors.EXPIRED_TOKEN))
    account = state.accounts[token.app_name]
    user = account.users.get(token.user_id) or account.primary_user()
    return Caller(
        account=account,
        user=user,
        credential_id=token.token_id,
        client_subject="client:" + token.client_id,
    )


def count_request(state: SandboxState, caller: Caller) -> dict[str, str]:
    """Count the request against its quotas; return its headers or raise HttpError with a 429."""
    decision = check_and_count(
        state.quota_counter,
        state.quota_limits,
        state.now(),
        key_subject=caller.key_subject,
        client_subject=caller.client_subject,
        tenant_id=caller.account.tenant_id,
    )
    if decision.allowed:
        return decision.headers
    headers = dict(decision.headers)
    if state.quota_limits.send_retry_after:
        headers["Retry-After"] = str(decision.retry_after)
    raise HttpError(Response.json(errors.QUOTA_EXCEEDED_BODY, status=429, headers=headers))
