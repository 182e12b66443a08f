"""Keap's OAuth 2.0 endpoints: the authorize URL, the code exchange and the token refresh.

Keap grants authorization_code and refresh_token only, with `scope=full` as the only scope.
Each refresh returns a new access and refresh token, and the old refresh token stops working.
"""

import base64
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from connector import http
from connector.keap.errors import ConnectorError, keap_error_detail

logger = logging.getLogger(__name__)

MAX_LOGGED_BODY = 500


@dataclass(frozen=True)
class TokenSet:
    """Tokens from Keap's token endpoint. The secrets are left out of repr()."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    # Keap's scope value, "full|<app>.infusionsoft.com"; names the Keap account.
    scope: str = ""

    @property
    def keap_tenant_id(self) -> str:
        _, _, app = self.scope.partition("|")
        return app


def is_configured() -> bool:
    """Whether OAuth is switched on: it needs both KEAP_CLIENT_ID and KEAP_CLIENT_SECRET."""
    return bool(settings.KEAP_CLIENT_ID and settings.KEAP_CLIENT_SECRET)


def redirect_uri() -> str:
    """The one fixed redirect URI registered with Keap for this portal."""
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("connection_oauth_callback")


def new_pkce_pair() -> tuple[str, str]:
    """Return (code verifier, S256 code challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


# Reference: https://developer.infusionsoft.com/getting-started-oauth-keys
def authorize_url(state: str, code_challenge: str) -> str:
    """Return Keap's authorize URL for this portal's client.

    Keap documents no PKCE support; the S256 challenge is sent anyway, as RFC 9700 advises,
    and is harmless if ignored.
    """
    query = {
        "client_id": settings.KEAP_CLIENT_ID,
        "redirect_uri": redirect_uri(),
        "response_type": "code",
        "scope": "full",
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{settings.KEAP_AUTHORIZE_URL}?{urlencode(query)}"


# Reference: https://developer.infusionsoft.com/getting-started-oauth-keys
def exchange_code(code: str, code_verifier: str) -> TokenSet:
    """Exchange an authorization code for tokens; client id and secret go in the form body.

    Raises ConnectorError: `oauth_exchange_failed` (permanent) for a 4xx answer, a transient
    error for timeouts and 5xx.
    """
    data = {
        "client_id": settings.KEAP_CLIENT_ID,
        "client_secret": settings.KEAP_CLIENT_SECRET,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": redirect_uri(),
        "code_verifier": code_verifier,
    }
    return _post_token(data, auth=None, rejected_code="oauth_exchange_failed")


# Reference: https://developer.infusionsoft.com/getting-started-oauth-keys
def refresh_tokens(refresh_token: str) -> TokenSet:
    """Trade a refresh token for a new token pair, with HTTP Basic client authentication.

    A response without a refresh token means the old one stays valid, so it is returned in the
    TokenSet. Raises ConnectorError `refresh_rejected` (permanent) for any 400, because Keap's
    sources disagree on the `error` code of a dead refresh token; transient errors for
    timeouts and 5xx.
    """
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    auth = (settings.KEAP_CLIENT_ID, settings.KEAP_CLIENT_SECRET)
    tokens = _post_token(data, auth=auth, rejected_code="refresh_rejected")
    if not tokens.refresh_token:
        tokens = TokenSet(tokens.access_token, refresh_token, tokens.expires_at, tokens.scope)
    return tokens


def _post_token(data, *, auth, rejected_code) -> TokenSet:
    if not is_configured():
        raise ConnectorError("oauth_not_configured", permanent=True)

    started = timezone.now()
    clock = time.monotonic()
    try:
        response = http.request("POST", settings.KEAP_TOKEN_URL, data=data, auth=auth)
    except requests.Timeout:
        raise ConnectorError("timeout", permanent=False, detail="token endpoint timed out")
    except requests.ConnectionError:
        raise ConnectorError("network_error", permanent=False, detail="token endpoint unreachable")
    elapsed_ms = (time.monotonic() - clock) * 1000

    if response.status_code >= 500 or response.status_code == 429:
        code = "rate_limited" if response.status_code == 429 else "keap_unavailable"
        raise ConnectorError(
            code, permanent=False, status=response.status_code, detail="token endpoint"
        )
    if response.status_code != 200:
        error, description = keap_error_detail(response.content)
        logger.warning(
            "token endpoint answered %s (%s: %s) in %.0fms",
            response.status_code,
            error,
            description[:MAX_LOGGED_BODY],
            elapsed_ms,
        )
        raise ConnectorError(
            rejected_code,
            permanent=True,
            status=response.status_code,
            detail=f"token endpoint error {error}",
        )

    return _parse_token_response(response, started)


def _parse_token_response(response, started) -> TokenSet:
    try:
        payload = json.loads(response.content)
        access_token = str(payload["access_token"])
        expires_in = int(payload["expires_in"])
    except (ValueError, KeyError, TypeError):
        raise ConnectorError(
            "unexpected_response",
            permanent=True,
            status=response.status_code,
            detail="token response lacks access_token or expires_in",
        )

    # Counting from before the request keeps the stored expiry on the early side.
    return TokenSet(
        access_token=access_token,
        refresh_token=str(payload.get("refresh_token") or ""),
        expires_at=started + timedelta(seconds=expires_in),
        scope=str(payload.get("scope") or ""),
    )
