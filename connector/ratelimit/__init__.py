"""Keap's rate limits, shared by every worker on every machine through Redis.

Usage in a worker, before each Keap call:

    limits = limits_for_call(credential_id, "oauth", client_id=..., account_id=...)
    decision = try_acquire(limits)
    if not decision.allowed:
        ...  # put the job back and retry in decision.retry_after seconds
    response = ...  # call Keap
    observe_headers(limits, QuotaHeaders.from_response(response.headers, response.status_code))

docs/rate-limits.md describes the algorithm, its guarantee and the settings.
"""

from connector.ratelimit.fairqueue import FairQueue
from connector.ratelimit.headers import QuotaHeaders, observe_headers, parse_retry_after
from connector.ratelimit.keap_limits import DEFAULT_LIMITS, configured_limits, limits_for_call
from connector.ratelimit.limiter import Decision, Limit, try_acquire
from connector.ratelimit.redis_client import get_redis, redis_url

__all__ = [
    "DEFAULT_LIMITS",
    "Decision",
    "FairQueue",
    "Limit",
    "QuotaHeaders",
    "configured_limits",
    "get_redis",
    "limits_for_call",
    "observe_headers",
    "parse_retry_after",
    "redis_url",
    "try_acquire",
]
