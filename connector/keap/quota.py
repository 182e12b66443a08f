"""Keap's rate-limit and quota response headers, parsed for the rate limiter.

Header names are Keap's `x-keap-*` family (renamed from `X-Apigee-*` on 2022-10-31):
https://developer.infusionsoft.com/api-token-quota-and-usage-measurements
The tenant family may carry several windows in one header, pipe-delimited (`minute|day`).
"""

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class QuotaWindow:
    limit: int | None
    available: int | None
    used: int | None
    time_unit: str
    interval: int | None
    # End of the window, when Keap sends it (the daily quota's expiry-time).
    expires_at: datetime | None = None


@dataclass(frozen=True)
class KeapQuota:
    """The quota state that one Keap response reported. Windows are empty when absent."""

    product_quota: tuple[QuotaWindow, ...] = ()
    product_throttle: tuple[QuotaWindow, ...] = ()
    tenant_throttle: tuple[QuotaWindow, ...] = ()
    tenant_id: str = ""
    # Observed only, never documented, e.g. "10ps".
    spike_limit: str = ""
    # Seconds, from a Retry-After header when present.
    retry_after: float | None = None


def parse_quota_headers(headers) -> KeapQuota:
    """Parse Keap's quota headers from a case-insensitive mapping such as `response.headers`."""
    return KeapQuota(
        product_quota=_windows(headers, "x-keap-product-quota"),
        product_throttle=_windows(headers, "x-keap-product-throttle"),
        tenant_throttle=_windows(headers, "x-keap-tenant-throttle"),
        tenant_id=headers.get("x-keap-tenant-id", ""),
        spike_limit=headers.get("x-keap-product-spike-limit", ""),
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def parse_retry_after(value) -> float | None:
    """Return Retry-After in seconds; only the delta-seconds form is read."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _windows(headers, prefix) -> tuple[QuotaWindow, ...]:
    limits = _split(headers.get(f"{prefix}-limit"))
    if not limits:
        return ()

    available = _split(headers.get(f"{prefix}-available"))
    used = _split(headers.get(f"{prefix}-used"))
    units = _split(headers.get(f"{prefix}-time-unit"))
    intervals = _split(headers.get(f"{prefix}-interval"))
    expiries = _split(headers.get(f"{prefix}-expiry-time"))
    return tuple(
        QuotaWindow(
            limit=_int(limits, i),
            available=_int(available, i),
            used=_int(used, i),
            time_unit=units[i] if i < len(units) else "",
            interval=_int(intervals, i),
            expires_at=_epoch_millis(expiries, i),
        )
        for i in range(len(limits))
    )


def _split(value) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split("|")]


def _int(values, index) -> int | None:
    if index >= len(values):
        return None
    try:
        return int(values[index])
    except ValueError:
        return None


def _epoch_millis(values, index) -> datetime | None:
    # expiry-time is epoch milliseconds on the wire (e.g. 1723680000000).
    number = _int(values, index)
    if number is None:
        return None
    return datetime.fromtimestamp(number / 1000, tz=UTC)
