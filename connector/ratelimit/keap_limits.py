"""Keap's request limits, and the windows one Keap call must take a grant from.

Keap's limits, from https://developer.infusionsoft.com/api-token-quota-and-usage-measurements
(and, for the per-account limits, https://developer.infusionsoft.com/?p=2637, which states them
as "effective June 8, 2026"):
- each PAT or SAK: 10 requests per second, 240 per minute and 30,000 per day;
- each OAuth client id: 1,500 per minute and 150,000 per day, summed over every Keap account
  the client reaches;
- each Keap account (Keap calls it the tenant or application instance), whatever credential is
  used: 10,000 per minute and 250,000 per day.
Daily quotas reset at 00:00 UTC.
"""

from django.conf import settings

from connector.ratelimit.limiter import Limit

SECOND = 1.0
MINUTE = 60.0
DAY = 86_400.0

DEFAULT_LIMITS = {
    "key_per_second": 10,
    "key_per_minute": 240,
    "key_per_day": 30_000,
    "client_per_minute": 1_500,
    "client_per_day": 150_000,
    "account_per_minute": 10_000,
    "account_per_day": 250_000,
}

# A request granted here reaches Keap some time later: a worker can stall between the grant and
# the send, and network delays vary, so requests can bunch up closer at Keap than they were
# granted. Each rolling window is stretched by this fraction of its period, but by at least
# DEFAULT_SAFETY_SECONDS: 1.2 s for a minute (2% of the throughput), 0.5 s for a second. Keap's
# per-key minute limit (4 a second on average) binds long before the per-second one, so the
# per-second window's larger stretch only slows bursts, and a 429 then needs one request to
# stall half a second longer than another.
DEFAULT_SAFETY_MARGIN = 0.02
DEFAULT_SAFETY_SECONDS = 0.5

CREDENTIAL_METHODS = ("pat", "sak", "oauth")

# Per subject: (name in DEFAULT_LIMITS, Keap's window unit, period in seconds, fixed window).
_WINDOWS = {
    "key": [
        ("key_per_second", "second", SECOND, False),
        ("key_per_minute", "minute", MINUTE, False),
        ("key_per_day", "day", DAY, True),
    ],
    "client": [
        ("client_per_minute", "minute", MINUTE, False),
        ("client_per_day", "day", DAY, True),
    ],
    "account": [
        ("account_per_minute", "minute", MINUTE, False),
        ("account_per_day", "day", DAY, True),
    ],
}


def configured_limits() -> dict[str, int]:
    """Return Keap's limits with the RATELIMIT_LIMITS setting's entries applied over them.

    RATELIMIT_LIMITS maps names of DEFAULT_LIMITS to whole numbers ≥ 1 (strings of digits are
    accepted, as read from the environment). Raises ValueError on an unknown name or a bad value.
    """
    overrides = getattr(settings, "RATELIMIT_LIMITS", None) or {}
    unknown = sorted(set(overrides) - DEFAULT_LIMITS.keys())
    if unknown:
        known = ", ".join(DEFAULT_LIMITS)
        raise ValueError(f"Unknown RATELIMIT_LIMITS name(s) {', '.join(unknown)}: use {known}.")

    limits = dict(DEFAULT_LIMITS)
    for name, raw in overrides.items():
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if value < 1:
            raise ValueError(
                f"Invalid RATELIMIT_LIMITS value {raw!r} for {name}: use a number ≥ 1."
            )
        limits[name] = value
    return limits


def limits_for_call(
    credential_id: str,
    credential_method: str,
    client_id: str | None = None,
    account_id: str | None = None,
) -> list[Limit]:
    """Return the windows one Keap call takes a grant from.

    A PAT or SAK call counts against its key (`credential_id`). An OAuth call counts against
    the OAuth `client_id`. Both also count against the Keap account when `account_id` is known
    (it is not while the first userinfo call of a new connection runs).

    Settings: RATELIMIT_ENABLED (default True; False returns no windows, so every call is
    allowed), RATELIMIT_LIMITS (see `configured_limits`), RATELIMIT_TIME_SCALE (default 1.0,
    multiplies every period, for tests and benchmarks), RATELIMIT_SAFETY_MARGIN (default 0.02,
    stretches rolling windows by that fraction), RATELIMIT_SAFETY_SECONDS (default 0.5, the
    least stretch in seconds before the time scale applies) and RATELIMIT_KEY_PREFIX (default
    "ratelimit:").
    """
    if credential_method not in CREDENTIAL_METHODS:
        raise ValueError(
            f"Invalid credential method {credential_method!r}: use one of pat, sak, oauth."
        )
    if credential_method == "oauth" and not client_id:
        raise ValueError("Missing OAuth client id: an OAuth call counts against its client.")
    if credential_method != "oauth" and not credential_id:
        raise ValueError("Missing credential id: a PAT or SAK call counts against its key.")
    if not getattr(settings, "RATELIMIT_ENABLED", True):
        return []

    limits = configured_limits()
    scale = _positive_float("RATELIMIT_TIME_SCALE", 1.0)
    margin = _margin()
    least_stretch = _non_negative_float("RATELIMIT_SAFETY_SECONDS", DEFAULT_SAFETY_SECONDS)
    prefix = getattr(settings, "RATELIMIT_KEY_PREFIX", "ratelimit:")

    if credential_method == "oauth":
        subjects = [("client", client_id)]
    else:
        subjects = [("key", credential_id)]
    if account_id:
        subjects.append(("account", account_id))

    windows = []
    for subject, subject_id in subjects:
        for name, window, period, fixed in _WINDOWS[subject]:
            stretched = period if fixed else period + max(period * margin, least_stretch)
            windows.append(
                Limit(
                    key=f"{prefix}{subject}:{subject_id}:{window}",
                    limit=limits[name],
                    period=stretched * scale,
                    fixed=fixed,
                    subject=subject,
                    window=window,
                )
            )
    return windows


def _positive_float(name: str, default: float) -> float:
    raw = getattr(settings, name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = 0.0
    if value <= 0:
        raise ValueError(f"Invalid {name} {raw!r}: use a number > 0.")
    return value


def _non_negative_float(name: str, default: float) -> float:
    raw = getattr(settings, name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0:
        raise ValueError(f"Invalid {name} {raw!r}: use a number of seconds ≥ 0.")
    return value


def _margin() -> float:
    raw = getattr(settings, "RATELIMIT_SAFETY_MARGIN", DEFAULT_SAFETY_MARGIN)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not 0 <= value < 1:
        raise ValueError(f"Invalid RATELIMIT_SAFETY_MARGIN {raw!r}: use a fraction from 0 to 1.")
    return value
