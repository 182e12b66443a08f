"""Errors from Keap calls, with one user-facing message per error code."""

import json

# User-facing text for each ConnectorError code: what happened, then what to do.
error_messages = {
    "invalid_key_format": (
        "That is not a complete Keap personal access token or service account key. Keys are "
        "KeapAK- followed by about 50 letters and digits; copy the whole key from Keap's API "
        "Settings page."
    ),
    "invalid_credential": (
        "Keap rejected the key or token. It may be wrong, deleted or revoked; create a new one "
        "in Keap and reconnect."
    ),
    "access_token_expired": "Keap reported the access token as expired.",
    "forbidden": "Keap refused the request: the Keap user behind this connection lacks permission.",
    "not_found": "Keap has no such record.",
    "bad_request": "Keap rejected the request as invalid.",
    "conflict": "Keap rejected the request because it conflicts with existing data.",
    "rate_limited": "Keap's rate limit was reached. The call will be retried later.",
    "keap_unavailable": "Keap is temporarily unavailable. The call will be retried later.",
    "timeout": "Keap did not answer in time. The call will be retried later.",
    "network_error": "Could not reach Keap. The call will be retried later.",
    "unexpected_response": "Received an unexpected response from Keap.",
    "connection_not_active": (
        "This Keap connection is not active, so no call was made. Reconnect it on its page."
    ),
    "credential_missing": "This Keap connection has no stored credential. Reconnect it.",
    "vault_error": (
        "The stored credential could not be decrypted. Reconnect the Keap account; if it "
        "happens again, tell the portal operator."
    ),
    "refresh_rejected": (
        "Keap no longer accepts this connection's authorization. Use Reconnect to sign in to "
        "Keap again."
    ),
    "oauth_not_configured": (
        "Connect with Keap is switched off on this portal. Use a personal access token instead."
    ),
    "oauth_exchange_failed": "Keap did not accept the sign-in. Try Connect with Keap again.",
    "account_mismatch": (
        "The key or sign-in belongs to a different Keap account than this connection. "
        "Reconnect with the same account, or add a new connection."
    ),
    "verification_expired": (
        "The key or sign-in was not checked with Keap in time, so it was discarded. Try again."
    ),
    "already_connected": (
        "This Keap account is already connected by this method. Use Reconnect on that "
        "connection's page to replace its credential."
    ),
}

# Status codes at which a call may succeed if repeated later.
TRANSIENT_STATUSES = {429, 500, 502, 503, 504}

STATUS_CODES = {
    400: "bad_request",
    401: "invalid_credential",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    429: "rate_limited",
}

# Keap's gateway errorcode for an OAuth access token past its lifetime; a refresh cures it.
ACCESS_TOKEN_EXPIRED_FAULT = "keymanagement.service.access_token_expired"

MAX_LOGGED_BODY = 500


class ConnectorError(Exception):
    """A failed Keap call or connection step.

    `code` keys `error_messages`. `permanent` is False only when repeating the call later may
    succeed (timeouts, 5xx, 429). `status` is Keap's HTTP status if there was a response;
    `retry_after` is in seconds when Keap said how long to wait. `detail` is for logs only.
    """

    def __init__(self, code, permanent, status=None, retry_after=None, detail=""):
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after
        self.detail = detail

    def __str__(self):
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.code}{status}: {self.detail or error_messages.get(self.code, '')}"

    @property
    def message(self):
        """The user-facing sentence for this error."""
        return error_messages.get(self.code, error_messages["unexpected_response"])


def keap_error_detail(body: bytes) -> tuple[str, str]:
    """Return (Keap's error code, message) from an error body in any of Keap's envelopes.

    Handles the gateway's `{"fault": {"faultstring", "detail": {"errorcode"}}}`, the REST
    `{"code", "message", "status"}` and OAuth's `{"error", "error_description"}`.
    """
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return "", ""
    if not isinstance(payload, dict):
        return "", ""

    fault = payload.get("fault")
    if isinstance(fault, dict):
        detail = fault.get("detail") if isinstance(fault.get("detail"), dict) else {}
        return str(detail.get("errorcode", "")), str(fault.get("faultstring", ""))
    if "error" in payload:
        return str(payload.get("error", "")), str(payload.get("error_description", ""))
    code = payload.get("code") or payload.get("status") or ""
    return str(code), str(payload.get("message", ""))


def error_for_status(status: int, body: bytes, retry_after: float | None = None):
    """Build the ConnectorError for a non-2xx Keap response."""
    keap_code, keap_message = keap_error_detail(body)
    if status == 401 and keap_code == ACCESS_TOKEN_EXPIRED_FAULT:
        code = "access_token_expired"
    elif status >= 500:
        code = "keap_unavailable"
    else:
        code = STATUS_CODES.get(status, "unexpected_response")

    detail = f"Keap error {keap_code or '-'}: {keap_message}"[:MAX_LOGGED_BODY]
    return ConnectorError(
        code,
        permanent=status not in TRANSIENT_STATUSES,
        status=status,
        retry_after=retry_after,
        detail=detail,
    )
