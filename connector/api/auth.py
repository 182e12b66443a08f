"""Authentication, scope checks and the per-site request limit of the client API."""

import logging
import time

import redis
from django.conf import settings
from ninja.security import HttpBearer

from connector.api.problems import ApiProblem, retry_after_header
from connector.models import Connection
from connector.ratelimit import Limit, try_acquire
from connector.site_auth import SiteAuthError, authenticate_site_key
from connector.sites import do_record_key_rejection, do_record_scope_denial

logger = logging.getLogger(__name__)

# HTTP status per SiteAuthError code. A paused site has a valid key that its owner has
# suspended for now, so it gets 403; every other code means the key cannot work again, so 401.
AUTH_ERROR_STATUS = {
    "missing_key": 401,
    "invalid_key": 401,
    "revoked_key": 401,
    "expired_key": 401,
    "site_revoked": 401,
    "connection_revoked": 401,
    "site_paused": 403,
}

SITE_LIMIT_PERIOD_SECONDS = 60.0

# Seconds between two warnings that the site limit could not be checked, per process.
LIMIT_WARNING_INTERVAL = 60.0
_last_limit_warning = 0.0


class SiteKeyAuth(HttpBearer):
    """Authenticate a request by the site key in `Authorization: Bearer <key>`.

    On success sets `request.site_key`, `request.site`, `request.tenant` and
    `request.connection`. Failures raise ApiProblem (401, or 403 for `site_paused`); a failure
    of a key whose lookup id exists is audited as `site_key.rejected`.
    """

    def __call__(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _auth_problem("missing_key")
        return self.authenticate(request, token.strip())

    def authenticate(self, request, token):
        try:
            site_key = authenticate_site_key(token, source_ip=request.META.get("REMOTE_ADDR"))
        except SiteAuthError as error:
            if error.site_key is not None:
                do_record_key_rejection(error.site_key, error.code, request=request)
            raise _auth_problem(error.code)

        request.site_key = site_key
        request.site = site_key.site
        request.tenant = site_key.tenant
        request.connection = site_key.site.connection
        return site_key


def require_scopes(request, *scopes):
    """Raise ApiProblem 403 `scope_not_granted` unless the site has every one of `scopes`.

    The problem names the missing scopes in `missing_scopes`, and the refusal is audited as
    `scope.denied`.
    """
    missing = sorted(set(scopes) - set(request.site.scopes))
    if not missing:
        return

    do_record_scope_denial(request.site, missing, request=request)
    raise ApiProblem(
        403,
        "scope_not_granted",
        f"This site lacks the scope(s) {', '.join(missing)}. Ask the site owner to grant them "
        "on the site's page in the portal.",
        extensions={"missing_scopes": missing},
    )


def require_active_connection(request):
    """Raise ApiProblem 409 `connection_needs_reauth` unless the site's connection is active.

    For endpoints that queue Keap calls; a revoked connection was already rejected by
    SiteKeyAuth.
    """
    if request.connection.status != Connection.Status.ACTIVE:
        raise ApiProblem(409, "connection_needs_reauth")


def site_limit(site) -> Limit:
    """Return the rolling one-minute window of `site`'s requests."""
    prefix = getattr(settings, "RATELIMIT_KEY_PREFIX", "ratelimit:")
    return Limit(
        key=f"{prefix}site:{site.public_id}:minute",
        limit=site.requests_per_minute,
        period=SITE_LIMIT_PERIOD_SECONDS,
        subject="site",
        window="minute",
    )


def check_site_rate_limit(request):
    """Count one request of `request.site`; raise ApiProblem 429 with Retry-After beyond its limit.

    The limit is the site's `requests_per_minute` (default SITE_REQUESTS_PER_MINUTE) over any
    rolling minute, counted in the rate limiter's Redis so every web process shares it. When
    Redis cannot be reached the request is allowed and a warning logged: this limit protects
    the queue, Keap's own limits are enforced again by the workers, and refusing all API traffic
    during a Redis outage would be worse.
    """
    try:
        decision = try_acquire([site_limit(request.site)])
    except redis.RedisError as error:
        _warn_limit_unavailable(request, error)
        return

    if not decision.allowed:
        raise ApiProblem(
            429,
            "rate_limited",
            f"This site is limited to {request.site.requests_per_minute} requests per minute. "
            "Wait for the number of seconds in Retry-After, then retry.",
            retry_after_header(decision.retry_after),
        )


def _auth_problem(code):
    status = AUTH_ERROR_STATUS[code]
    headers = {}
    if status == 401:
        error = "" if code == "missing_key" else ', error="invalid_token"'
        headers["WWW-Authenticate"] = f'Bearer realm="api"{error}'
    return ApiProblem(status, code, headers=headers)


def _warn_limit_unavailable(request, error):
    global _last_limit_warning
    now = time.monotonic()
    if now - _last_limit_warning < LIMIT_WARNING_INTERVAL:
        return
    _last_limit_warning = now
    logger.warning(
        "[site=%s tenant=%s] site request limit not checked, Redis unavailable: %s",
        request.site.public_id,
        request.tenant.public_id,
        error,
    )
