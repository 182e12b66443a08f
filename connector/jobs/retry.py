"""The retry policy after a Keap call of a job fails: when to try again, and how to finish.

- 429: wait for Retry-After (or 1 second) and try again; the limiter also holds the job back
  while Keap's quota headers blocked its windows. The try does not count towards
  JOB_MAX_ATTEMPTS.
- Timeouts, dropped connections and 5xx: exponential backoff with full jitter, capped, up to
  JOB_MAX_ATTEMPTS counted tries. For a request that is not safe to repeat (a create by POST),
  a timeout, a dropped connection or a 500 may mean Keap carried it out, so the job ends
  `outcome_unknown` instead. 502, 503 and 504 come from Keap's gateway before the request
  reaches the API, so those are retried for every request.
- Any other error is final. A 401 was already retried once after a token refresh by the client
  (OAuth connections only), and a 403 is never refreshed.
"""

import random
from dataclasses import dataclass

from connector.jobs import config
from connector.keap.errors import ConnectorError

RETRY = "retry"
RATE_LIMITED = "rate_limited"
FAIL = "fail"
UNKNOWN = "outcome_unknown"
CANCEL = "cancel"

# Errors after which the request may have reached Keap's API.
MAY_HAVE_REACHED_KEAP = frozenset({"timeout", "network_error"})
# 5xx statuses that Keap's gateway sends without passing the request on.
GATEWAY_STATUSES = frozenset({502, 503, 504})

# Seconds to wait after a 429 that names no Retry-After.
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class RetryDecision:
    action: str
    delay: float = 0.0


def decide(
    error: ConnectorError,
    *,
    repeatable: bool,
    attempts: int,
    rate_limited_tries: int = 0,
) -> RetryDecision:
    """Return what to do after `error` on a job's counted try number `attempts` (1-based).

    `rate_limited_tries` counts the job's earlier 429 responses. A 429 without Retry-After
    waits DEFAULT_RATE_LIMIT_WAIT_SECONDS, after which the limiter still holds the job back for
    as long as `observe_headers` blocked the call's windows.
    """
    if error.code == "connection_not_active":
        return RetryDecision(CANCEL)

    if error.code == "rate_limited":
        if rate_limited_tries + 1 >= config.max_rate_limited_tries():
            return RetryDecision(FAIL)
        wait = error.retry_after or DEFAULT_RATE_LIMIT_WAIT_SECONDS
        return RetryDecision(RATE_LIMITED, min(wait, config.max_countdown()))

    if error.permanent:
        return RetryDecision(FAIL)

    if not repeatable and _may_have_reached_keap(error):
        return RetryDecision(UNKNOWN)
    if attempts >= config.max_attempts():
        return RetryDecision(FAIL)
    return RetryDecision(RETRY, backoff_seconds(attempts, error.retry_after))


def backoff_seconds(attempts: int, retry_after: float | None = None) -> float:
    """Return the wait before counted try `attempts + 1`: base × 2^(attempts - 1), full jitter
    in its upper half, capped by JOB_RETRY_CAP_SECONDS; never shorter than `retry_after`."""
    cap = min(config.retry_cap_seconds(), config.max_countdown())
    delay = min(cap, config.retry_base_seconds() * 2 ** max(attempts - 1, 0))
    delay = random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not security
    if retry_after:
        delay = max(delay, min(cap, retry_after))
    return delay


def _may_have_reached_keap(error: ConnectorError) -> bool:
    if error.code in MAY_HAVE_REACHED_KEAP:
        return True
    return error.status is not None and error.status >= 500 and error.status not in GATEWAY_STATUSES
