"""Tightening our windows from the quota headers and 429 responses Keap sends.

Keap reports what it has counted in every response (all lower-case header names):
- `x-keap-product-throttle-available`: requests left this minute for the PAT/SAK or OAuth client;
- `x-keap-product-quota-available` and `-expiry-time` (epoch milliseconds): left today, and when
  the daily quota resets;
- `x-keap-tenant-throttle-available`: left this minute for the Keap account. Some responses
  carry two values, "minute|day", with `x-keap-tenant-throttle-time-unit: minute|day`.
Source: https://developer.infusionsoft.com/api-token-quota-and-usage-measurements

Keap's count can be ahead of ours when something outside the portal uses the same key or
account. Our count can only be raised and blocks only lengthened here: a header that reports
more room than we counted changes nothing.
"""

import email.utils
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from connector.ratelimit.limiter import Limit
from connector.ratelimit.redis_client import get_redis

# A 429 with neither Retry-After nor an exhausted quota header most likely hit the per-second
# spike limit, which reports no headers and empties within a second.
DEFAULT_THROTTLED_BLOCK_SECONDS = 1.0

# Retry-After values above a day are treated as a day; Keap's longest window is a UTC day.
MAX_RETRY_AFTER_SECONDS = 86_400.0

# KEYS: for window i, KEYS[2i-1] is the window and KEYS[2i] its block key.
# ARGV[1]: the time in seconds, or "" for the Redis server's clock. ARGV[2]: a prefix for the
# members that stand for requests Keap counted and we did not.
# ARGV[3..]: six values per window: limit, period, "1" if fixed, the requests Keap reports
# as available (or ""), seconds to block from now (or ""), and a time to block until (or "").
# Returns the indexes of the windows that were tightened.
OBSERVE_SCRIPT = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local member_prefix = ARGV[2]
local tightened = {}

for i = 1, #KEYS / 2 do
  local key = KEYS[2 * i - 1]
  local block_key = KEYS[2 * i]
  local base = 2 + (i - 1) * 6
  local limit = tonumber(ARGV[base + 1])
  local period = tonumber(ARGV[base + 2])
  local fixed = ARGV[base + 3] == '1'
  local available = tonumber(ARGV[base + 4])
  local block_for = tonumber(ARGV[base + 5])
  local block_until = tonumber(ARGV[base + 6])
  local changed = false

  if available then
    -- Count as many grants as leave exactly `available` of our limit.
    local target = limit - math.max(available, 0)
    if fixed then
      local window = math.floor(now / period)
      local stored = redis.call('HMGET', key, 'window', 'count')
      local count = 0
      if stored[1] and tonumber(stored[1]) == window then
        count = tonumber(stored[2])
      end
      if target > count then
        redis.call('HSET', key, 'window', string.format('%.17g', window), 'count', target)
        redis.call('PEXPIRE', key, math.ceil(((window + 1) * period - now) * 1000) + 1000)
        changed = true
      end
    else
      redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.17g', now - period))
      local count = redis.call('ZCARD', key)
      if target > count then
        -- Keap's window may have started at any time, so the added grants are dated now and
        -- stay for a whole period: the conservative choice.
        for j = 1, target - count do
          redis.call('ZADD', key, string.format('%.17g', now), member_prefix .. j)
        end
        redis.call('PEXPIRE', key, math.ceil(period * 1000) + 1000)
        changed = true
      end
    end
  end

  local until_time = 0
  if block_for then
    until_time = now + block_for
  end
  -- An expiry time more than two periods away is not one of this window's ends.
  if block_until and block_until > now and block_until <= now + 2 * period then
    until_time = math.max(until_time, block_until)
  end
  if until_time > now then
    local current = tonumber(redis.call('GET', block_key) or '0')
    if until_time > current then
      local ttl = math.ceil((until_time - now) * 1000) + 1000
      redis.call('SET', block_key, string.format('%.17g', until_time), 'PX', ttl)
      changed = true
    end
  end

  if changed then
    tightened[#tightened + 1] = i
  end
end
return tightened
"""


@dataclass(frozen=True)
class QuotaHeaders:
    """Keap's quota headers and 429 status from one response, parsed. None means absent."""

    product_throttle_available: int | None = None
    product_quota_available: int | None = None
    product_quota_expiry_ms: int | None = None
    tenant_throttle_available: int | None = None
    tenant_quota_available: int | None = None
    retry_after: float | None = None
    throttled: bool = False

    @classmethod
    def from_response(cls, headers: Mapping[str, str], status_code: int) -> "QuotaHeaders":
        """Parse a response's headers; a value that is not a number is treated as absent."""
        lowered = {name.lower(): value for name, value in headers.items()}
        tenant_minute, tenant_day = _tenant_values(lowered)

        return cls(
            product_throttle_available=_int(lowered.get("x-keap-product-throttle-available")),
            product_quota_available=_int(lowered.get("x-keap-product-quota-available")),
            product_quota_expiry_ms=_int(lowered.get("x-keap-product-quota-expiry-time")),
            tenant_throttle_available=tenant_minute,
            tenant_quota_available=tenant_day,
            retry_after=parse_retry_after(lowered.get("retry-after")),
            throttled=status_code == 429,
        )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return Retry-After in seconds (0 to one day) from delay-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None

    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)

    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def observe_headers(
    limits: list[Limit], observed: QuotaHeaders, *, now: float | None = None, client=None
) -> list[str]:
    """Tighten the windows of one call from what Keap reported; return the tightened keys.

    `limits` are the windows the call took a grant from (`limits_for_call`).
    1. An "available" count lower than the room we have left raises our count to match.
       Zero available fills the window, which blocks it for a whole period from now, because
       Keap does not say when its minute started. A daily quota at zero also blocks the window
       until `-expiry-time`.
    2. A 429 blocks for Retry-After seconds (or DEFAULT_THROTTLED_BLOCK_SECONDS) the windows
       whose header reported zero available. When none did, it blocks the Keap account's
       windows, or the credential's when the account is not known. The shared OAuth client
       is blocked only when its own header reported zero, so one account's 429 does not stop
       every other account.
    `now` (seconds) replaces the Redis server's clock and is meant for tests only.
    """
    plan: dict[str, list] = {}

    def tighten(limit, available=None, block_for=None, block_until=None):
        entry = plan.setdefault(limit.key, [limit, None, None, None])
        if available is not None:
            entry[1] = available if entry[1] is None else min(entry[1], available)
        if block_for is not None:
            entry[2] = block_for if entry[2] is None else max(entry[2], block_for)
        if block_until is not None:
            entry[3] = block_until if entry[3] is None else max(entry[3], block_until)

    exhausted = []
    reports = [
        ("product", "minute", observed.product_throttle_available, None),
        ("product", "day", observed.product_quota_available, observed.product_quota_expiry_ms),
        ("account", "minute", observed.tenant_throttle_available, None),
        ("account", "day", observed.tenant_quota_available, None),
    ]
    for family, window, available, expiry_ms in reports:
        if available is None:
            continue
        for limit in _windows(limits, family, window):
            block_until = expiry_ms / 1000 if expiry_ms is not None and available <= 0 else None
            tighten(limit, available=available, block_until=block_until)
            if available <= 0:
                exhausted.append(limit)

    if observed.throttled:
        block_for = observed.retry_after
        if block_for is None:
            block_for = DEFAULT_THROTTLED_BLOCK_SECONDS
        targets = exhausted or _windows(limits, "account") or _windows(limits, "product")
        for limit in targets:
            tighten(limit, block_for=block_for)

    if not plan:
        return []
    return _run_observe(list(plan.values()), now=now, client=client)


def _windows(limits: list[Limit], family: str, window: str | None = None) -> list[Limit]:
    subjects = ("key", "client") if family == "product" else ("account",)
    return [
        limit
        for limit in limits
        if limit.subject in subjects and (window is None or limit.window == window)
    ]


def _run_observe(entries: list[list], *, now: float | None, client) -> list[str]:
    keys = []
    args = ["" if now is None else repr(float(now)), f"keap:{uuid.uuid4().hex}:"]
    for limit, available, block_for, block_until in entries:
        keys += [limit.key, limit.block_key]
        args += [
            limit.limit,
            repr(float(limit.period)),
            "1" if limit.fixed else "0",
            "" if available is None else str(int(available)),
            "" if block_for is None else repr(float(block_for)),
            "" if block_until is None else repr(float(block_until)),
        ]

    client = client or get_redis()
    script = client.register_script(OBSERVE_SCRIPT)
    tightened = script(keys=keys, args=args)
    return [entries[index - 1][0].key for index in tightened]


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _tenant_values(lowered: dict[str, str]) -> tuple[int | None, int | None]:
    """Split `x-keap-tenant-throttle-available` into its minute and day values."""
    raw = lowered.get("x-keap-tenant-throttle-available")
    if raw is None:
        return None, None

    values = [_int(part) for part in raw.split("|")]
    units = lowered.get("x-keap-tenant-throttle-time-unit", "minute").split("|")
    by_unit = {}
    for unit, value in zip(units, values, strict=False):
        by_unit[unit.strip().lower()] = value
    if len(values) == 1 and "minute" not in by_unit and "day" not in by_unit:
        by_unit["minute"] = values[0]
    return by_unit.get("minute"), by_unit.get("day")
