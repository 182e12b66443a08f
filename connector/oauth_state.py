"""The single-use OAuth `state` of "Connect with Keap", kept in the user's session.

Each state is bound to the session (it lives only there), to the tenant that started it, and
to a PKCE code verifier; it expires after 10 minutes and is removed on first use.
"""

import secrets
import time

from connector.keap import oauth

SESSION_KEY = "connector_oauth_states"
STATE_LIFETIME_SECONDS = 10 * 60
# Enough for a few tabs; the oldest state is dropped beyond it.
MAX_PENDING_STATES = 5


class OAuthStateError(Exception):
    """The callback's `state` is missing, unknown, reused, expired or for another tenant."""

    messages = {
        "missing": "The reply from Keap had no state. Start Connect with Keap again.",
        "invalid": (
            "The reply from Keap does not match a sign-in started in this browser session, or "
            "it was already used. Start Connect with Keap again."
        ),
        "expired": "The Keap sign-in took longer than 10 minutes. Start Connect with Keap again.",
        "wrong_tenant": (
            "The Keap sign-in was started for another tenant. Switch back to it, or start "
            "Connect with Keap again."
        ),
    }

    def __init__(self, code):
        super().__init__(code)
        self.code = code
        self.message = self.messages[code]


def begin(session, tenant, reconnect=None) -> str:
    """Store a new state in `session` and return Keap's authorize URL that carries it."""
    state = secrets.token_urlsafe(32)
    verifier, challenge = oauth.new_pkce_pair()
    pending = dict(session.get(SESSION_KEY, {}))
    pending[state] = {
        "tenant": str(tenant.public_id),
        "reconnect": str(reconnect.public_id) if reconnect else "",
        "verifier": verifier,
        "created": time.time(),
    }
    while len(pending) > MAX_PENDING_STATES:
        oldest = min(pending, key=lambda key: pending[key]["created"])
        del pending[oldest]
    session[SESSION_KEY] = pending
    return oauth.authorize_url(state, challenge)


def consume(session, state, tenant) -> dict:
    """Remove `state` from `session` and return its entry (tenant, reconnect, verifier).

    Raises OAuthStateError; the state is removed even then, so it can never be used twice.
    """
    if not state:
        raise OAuthStateError("missing")

    pending = dict(session.get(SESSION_KEY, {}))
    entry = pending.pop(state, None)
    session[SESSION_KEY] = pending
    if entry is None:
        raise OAuthStateError("invalid")
    if time.time() - entry["created"] > STATE_LIFETIME_SECONDS:
        raise OAuthStateError("expired")
    if tenant is None or entry["tenant"] != str(tenant.public_id):
        raise OAuthStateError("wrong_tenant")
    return entry
