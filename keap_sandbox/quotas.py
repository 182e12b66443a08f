"""Keap's request quotas, counted in fixed windows of the sandbox clock.

Limits, as https://developer.infusionsoft.com/api-token-quota-and-usage-measurements states them:
- a PAT or SAK: 10 requests per second, 240 per minute and 30,000 per day;
- an OAuth client id: 1,500 per minute and 150,000 per day, summed over every account it reaches;
- an account (tenant), whatever the credential: 10,000 per minute and 250,000 per day.

Windows are fixed: a second, a minute or a UTC day starts at a whole multiple of its length since
the epoch, so days reset at 00:00 UTC as Keap's do. Keap's gateway may use sliding or
token-bucket windows instead. A rejected request does not count against any window.
"""

from dataclasses import asdict, dataclass, fields

SECOND = 1
MINUTE = 60
DAY = 86_400


@dataclass
class QuotaLimits:
    """Requests allowed per window; `None` removes that limit. `enforced=False` never rejects."""

    key_per_second: int | None = 10
    key_per_minute: int | None = 240
    key_per_day: int | None = 30_000
    client_per_minute: int | None = 1_500
    client_per_day: int | None = 150_000
    tenant_per_minute: int | None = 10_000
    tenant_per_day: int | None = 250_000
    enforced: bool = True
    send_retry_after: bool = True

    def update(self, changes: dict) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"Unknown quota settings {sorted(unknown)}: use {sorted(known)}.")
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Window:
    subject: str
    length: int
    limit: int | None

    def start(self, now: float) -> int:
        return int(now // self.length) * self.length


@dataclass
class QuotaDecision:
    allowed: bool
    retry_after: int
    headers: dict[str, str]


class QuotaCounter:
    """Request counts per (subject, window length, window start); old windows are pruned."""

    def __init__(self):
        self.counts: dict[tuple[str, int, int], int] = {}

    def used(self, window: Window, now: float) -> int:
        return self.counts.get((window.subject, window.length, window.start(now)), 0)

    def record(self, windows: list[Window], now: float) -> None:
        for window in windows:
            key = (window.subject, window.length, window.start(now))
            self.counts[key] = self.counts.get(key, 0) + 1
        self._prune(now)

    def _prune(self, now: float) -> None:
        if len(self.counts) < 10_000:
            return
        day_start = int(now // DAY) * DAY
        self.counts = {key: n for key, n in self.counts.items() if key[2] + key[1] > day_start}


def check_and_count(
    counter: QuotaCounter,
    limits: QuotaLimits,
    now: float,
    *,
    key_subject: str | None,
    client_subject: str | None,
    tenant_id: str,
) -> QuotaDecision:
    """Count one request against its credential's and tenant's windows, or reject it.

    The `x-keap-product-*` headers describe the credential (the PAT/SAK or the OAuth client); the
    `x-keap-tenant-*` headers describe the account. They carry the counts after this request.
    """
    if key_subject:
        spike = Window(key_subject, SECOND, limits.key_per_second)
        throttle = Window(key_subject, MINUTE, limits.key_per_minute)
        quota = Window(key_subject, DAY, limits.key_per_day)
        product = [spike, throttle, quota]
    else:
        spike = None
        throttle = Window(client_subject, MINUTE, limits.client_per_minute)
        quota = Window(client_subject, DAY, limits.client_per_day)
        product = [throttle, quota]
    tenant_throttle = Window("tenant:" + tenant_id, MINUTE, limits.tenant_per_minute)
    tenant_quota = Window("tenant:" + tenant_id, DAY, limits.tenant_per_day)
    windows = [*product, tenant_throttle, tenant_quota]

    full = [w for w in windows if w.limit is not None and counter.used(w, now) >= w.limit]
    allowed = not (full and limits.enforced)
    if allowed:
        counter.record(windows, now)
    retry_after = max((w.start(now) + w.length - int(now) for w in full), default=0)

    headers = {}
    if spike is not None and spike.limit is not None:
        headers["x-keap-product-spike-limit"] = f"{spike.limit}ps"
    headers.update(_window_headers("x-keap-product-quota", quota, counter, now, with_expiry=True))
    headers.update(_window_headers("x-keap-product-throttle", throttle, counter, now))
    headers["x-keap-tenant-id"] = tenant_id
    headers.update(_window_headers("x-keap-tenant-throttle", tenant_throttle, counter, now))
    return QuotaDecision(allowed=allowed, retry_after=max(retry_after, 1), headers=headers)


def _window_headers(
    prefix: str, window: Window, counter: QuotaCounter, now: float, *, with_expiry: bool = False
) -> dict[str, str]:
    used = counter.used(window, now)
    unit = {SECOND: "second", MINUTE: "minute", DAY: "day"}[window.length]
    headers = {f"{prefix}-time-unit": unit, f"{prefix}-interval": "1", f"{prefix}-used": str(used)}
    if window.limit is not None:
        headers[f"{prefix}-limit"] = str(window.limit)
        headers[f"{prefix}-available"] = str(max(window.limit - used, 0))
    if with_expiry:
        # Keap sends the end of the quota window as epoch milliseconds.
        headers[f"{prefix}-expiry-time"] = str((window.start(now) + window.length) * 1000)
    return headers
