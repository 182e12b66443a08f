"""Windows of request counts kept in Redis, checked and taken atomically by one Lua script.

Two kinds of window:
- rolling (`fixed=False`): a sorted set of grant times. A grant at time t is allowed only if
  fewer than `limit` grants lie in (t - period, t]. So any interval of length `period`, wherever
  it starts, contains at most `limit` grants, which keeps the count within the limit for every
  alignment of Keap's own windows.
- fixed (`fixed=True`): a counter for the window [k * period, (k + 1) * period) since the Unix
  epoch. With a period of 86,400 seconds these are UTC days, which is how Keap's daily quotas
  reset. It stores two numbers however large the limit is.

The script reads the time from Redis (`TIME`), so the clocks of the machines that call it do not
matter. Tests may pass `now` instead.
"""

import uuid
from dataclasses import dataclass

from connector.ratelimit.redis_client import get_redis

# KEYS: for limit i, KEYS[2i-1] is its window and KEYS[2i] its block key.
# ARGV[1]: the time in seconds, or "" to use the Redis server's clock.
# ARGV[2]: a member name unique to this call, for the rolling windows' sorted sets.
# ARGV[3..]: three values per limit: limit, period in seconds, and "1" for a fixed window.
# Returns {allowed (1 or 0), seconds until a retry can succeed, the time used, denying indexes}.
TRY_ACQUIRE_SCRIPT = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local member = ARGV[2]
local count_of_limits = #KEYS / 2
local counts = {}
local windows = {}
local retry_after = 0
local denied = {}

for i = 1, count_of_limits do
  local key = KEYS[2 * i - 1]
  local block_key = KEYS[2 * i]
  local limit = tonumber(ARGV[3 * i])
  local period = tonumber(ARGV[3 * i + 1])
  local fixed = ARGV[3 * i + 2] == '1'
  local wait = 0

  local blocked_until = tonumber(redis.call('GET', block_key) or '0')
  if blocked_until > now then
    wait = blocked_until - now
  end

  if fixed then
    local window = math.floor(now / period)
    local stored = redis.call('HMGET', key, 'window', 'count')
    local count = 0
    if stored[1] and tonumber(stored[1]) == window then
      count = tonumber(stored[2])
    end
    counts[i] = count
    windows[i] = window
    if count >= limit then
      wait = math.max(wait, (window + 1) * period - now)
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.17g', now - period))
    local count = redis.call('ZCARD', key)
    counts[i] = count
    if count >= limit then
      -- The grant that must leave the window before another fits.
      local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, tonumber(oldest[2]) + period - now)
    end
  end

  if wait > 0 then
    denied[#denied + 1] = i
    retry_after = math.max(retry_after, wait)
  end
end

if #denied == 0 then
  for i = 1, count_of_limits do
    local key = KEYS[2 * i - 1]
    local period = tonumber(ARGV[3 * i + 1])
    if ARGV[3 * i + 2] == '1' then
      local window_end = (windows[i] + 1) * period
      redis.call('HSET', key, 'window', string.format('%.17g', windows[i]), 'count', counts[i] + 1)
      redis.call('PEXPIRE', key, math.ceil((window_end - now) * 1000) + 1000)
    else
      redis.call('ZADD', key, string.format('%.17g', now), member)
      redis.call('PEXPIRE', key, math.ceil(period * 1000) + 1000)
    end
  end
end

local allowed = 0
if #denied == 0 then
  allowed = 1
end
return {allowed, string.format('%.17g', retry_after), string.format('%.17g', now), denied}
"""


@dataclass(frozen=True)
class Limit:
    """One window of one bucket: at most `limit` grants per `period` seconds.

    `key` is the Redis key of the window. `subject` names what Keap counts the window against
    (`key` for a PAT or SAK, `client` for an OAuth client id, `account` for a Keap account) and
    `window` its Keap unit (`second`, `minute` or `day`). `observe_headers` uses those two to
    find the window a quota header describes.
    """

    key: str
    limit: int
    period: float
    fixed: bool = False
    subject: str = ""
    window: str = ""

    def __post_init__(self):
        if not self.key:
            raise ValueError("Missing rate limit key.")
        if not isinstance(self.limit, int) or self.limit < 1:
            raise ValueError(
                f"Invalid limit {self.limit!r} for {self.key}: use a whole number ≥ 1."
            )
        if not self.period > 0:
            raise ValueError(f"Invalid period {self.period!r} for {self.key}: use seconds > 0.")

    @property
    def block_key(self) -> str:
        """Redis key of the time until which this window is blocked, set by `observe_headers`."""
        return f"{self.key}:blocked"


@dataclass(frozen=True)
class Decision:
    """The outcome of `try_acquire`.

    `retry_after` is 0 when allowed, else the seconds until every denying window has room
    again, assuming no other caller takes that room first. `checked_at` is the time the script
    used (the Redis server's clock unless the caller passed `now`), or None when there were no
    limits to check. `denied_by` contains the keys of the windows that denied the request.
    """

    allowed: bool
    retry_after: float
    checked_at: float | None = None
    denied_by: tuple[str, ...] = ()


def try_acquire(limits: list[Limit], *, now: float | None = None, client=None) -> Decision:
    """Take one grant from every window in `limits`, or from none of them.

    Never waits: a denied request gets `retry_after` and should try again later. An empty list
    (rate limiting switched off) is always allowed without contacting Redis. `now` (seconds)
    replaces the Redis server's clock and is meant for tests only.
    """
    if not limits:
        return Decision(allowed=True, retry_after=0.0)
    _check_unique_keys(limits)

    keys = []
    args = ["" if now is None else repr(float(now)), uuid.uuid4().hex]
    for limit in limits:
        keys += [limit.key, limit.block_key]
        args += [limit.limit, repr(float(limit.period)), "1" if limit.fixed else "0"]

    client = client or get_redis()
    script = client.register_script(TRY_ACQUIRE_SCRIPT)
    allowed, retry_after, checked_at, denied = script(keys=keys, args=args)

    return Decision(
        allowed=bool(allowed),
        retry_after=float(retry_after),
        checked_at=float(checked_at),
        denied_by=tuple(limits[index - 1].key for index in denied),
    )


def _check_unique_keys(limits: list[Limit]) -> None:
    keys = [limit.key for limit in limits]
    if len(set(keys)) != len(keys):
        raise ValueError(f"Invalid limits: each key may appear once, got {keys}.")
