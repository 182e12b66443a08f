"""The dashboard: the tenant's connections, Keap calls per day against the quota, recent jobs."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from connector.models import Connection, Job, JobAttempt
from connector.ratelimit import configured_limits
from tenants.access import current_membership, owner_lacks_required_mfa
from tenants.models import AuditEvent

CHART_DAYS = 30
RECENT_JOBS = 10

# Attempt outcomes that the chart counts as errors: every try that did not succeed or continue.
ERROR_OUTCOMES = (
    JobAttempt.Outcome.RETRY,
    JobAttempt.Outcome.RATE_LIMITED,
    JobAttempt.Outcome.FAILED,
    JobAttempt.Outcome.OUTCOME_UNKNOWN,
    JobAttempt.Outcome.LOST,
)

# The chart's drawing area in SVG user units; the SVG scales to the page width.
CHART_WIDTH = 720
CHART_HEIGHT = 220
CHART_LEFT = 56
CHART_BOTTOM = 24
CHART_TOP = 12


@require_GET
@login_required
def index(request):
    membership = current_membership(request)
    if membership is None:
        return render(request, "portal/home/index.html", {"membership": None})
    if owner_lacks_required_mfa(membership):
        ctx = {"membership": membership, "mfa_needed": True}
        return render(request, "portal/home/index.html", ctx)

    tenant = membership.tenant
    connections = list(
        Connection.objects.for_tenant(tenant)
        .exclude(status=Connection.Status.REVOKED)
        .order_by("-created_at")
    )
    recent_jobs = (
        Job.objects.for_tenant(tenant)
        .select_related("site", "connection")
        .order_by("-id")[:RECENT_JOBS]
    )
    ctx = {
        "membership": membership,
        "connections": connections,
        "chart": usage_chart(tenant, connections, timezone.now()),
        "recent_jobs": recent_jobs,
    }
    return render(request, "portal/home/index.html", ctx)


@dataclass(frozen=True)
class ChartDay:
    day: object
    calls: int
    errors: int
    x: float
    bar_width: float
    calls_y: float
    calls_height: float
    errors_x: float
    errors_y: float
    errors_height: float
    label: str


def usage_chart(tenant, connections, now):
    """Return the chart of `tenant`'s Keap calls and errors per UTC day, last CHART_DAYS days.

    Calls are counted from `credential.decrypted` audit events, because the Keap client decrypts
    the API key or access token once per call, checks of new credentials included. A call made
    right after an OAuth refresh uses the fresh token without decrypting it, so it is not
    counted. Errors are job attempts that ended in any outcome of ERROR_OUTCOMES.
    """
    today = now.date()
    days = [today - timedelta(days=offset) for offset in range(CHART_DAYS - 1, -1, -1)]
    calls = _daily_counts(tenant, "calls", days, _calls_per_day)
    errors = _daily_counts(tenant, "errors", days, _errors_per_day)
    quota = daily_quota(connections)

    peak = max([calls.get(day, 0) for day in days] + [errors.get(day, 0) for day in days] + [1])
    top = _nice_ceiling(peak * 1.15)
    show_quota_line = quota is not None and quota <= top
    if show_quota_line:
        top = max(top, _nice_ceiling(quota * 1.1))

    plot_width = CHART_WIDTH - CHART_LEFT - 8
    plot_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = plot_width / len(days)
    bar_width = slot * 0.55
    baseline = CHART_TOP + plot_height

    def height(value):
        return round(plot_height * value / top, 2)

    chart_days = []
    for index, day in enumerate(days):
        day_calls, day_errors = calls.get(day, 0), errors.get(day, 0)
        x = CHART_LEFT + index * slot + slot * 0.1
        chart_days.append(
            ChartDay(
                day=day,
                calls=day_calls,
                errors=day_errors,
                x=round(x, 2),
                bar_width=round(bar_width, 2),
                calls_y=round(baseline - height(day_calls), 2),
                calls_height=height(day_calls),
                errors_x=round(x + bar_width, 2),
                errors_y=round(baseline - height(day_errors), 2),
                errors_height=height(day_errors),
                label=f"{day:%b} {day.day}" if index % 5 == 0 or index == len(days) - 1 else "",
            )
        )

    busiest = max(chart_days, key=lambda item: item.calls)
    return {
        "days": chart_days,
        "total_calls": sum(item.calls for item in chart_days),
        "total_calls_text": f"{sum(item.calls for item in chart_days):,}",
        "total_errors": sum(item.errors for item in chart_days),
        "busiest": busiest,
        "quota": quota,
        "quota_text": f"{quota:,}" if quota else "",
        "busiest_share": _share(busiest.calls, quota),
        "show_quota_line": show_quota_line,
        "quota_y": round(baseline - height(quota), 2) if show_quota_line else None,
        "top": top,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - 8,
        "baseline": baseline,
        "plot_top": CHART_TOP,
        "label_y": CHART_HEIGHT - 6,
    }


def _share(calls, quota):
    """Return `calls` as a percentage of `quota` in words, such as "12.5%" or "less than 0.1%"."""
    if not quota:
        return None
    share = 100 * calls / quota
    if 0 < share < 0.1:
        return "less than 0.1%"
    return f"{share:.1f}%"


def daily_quota(connections):
    """Return how many Keap calls a day the tenant's active connections allow, or None.

    Keap counts each PAT or SAK separately (30,000 a day by default), the portal's OAuth client
    across every tenant (150,000), and caps each Keap account (250,000) whatever the
    credential. The sum is per account, capped at the account's limit. For OAuth this is an
    upper bound, since other tenants share the client's quota.
    """
    limits = configured_limits()
    per_account = {}
    for connection in connections:
        if connection.status != Connection.Status.ACTIVE:
            continue
        if connection.is_api_key:
            allowed = limits["key_per_day"]
        else:
            allowed = min(limits["client_per_day"], limits["account_per_day"])
        account = connection.keap_tenant_id or connection.public_id
        per_account[account] = per_account.get(account, 0) + allowed
    if not per_account:
        return None
    return sum(min(total, limits["account_per_day"]) for total in per_account.values())


def _calls_per_day(tenant, start, end):
    events = AuditEvent.objects.filter(
        tenant=tenant,
        action="credential.decrypted",
        outcome=AuditEvent.Outcome.SUCCESS,
        created_at__gte=start,
        created_at__lt=end,
        details__field__in=["api_key", "access_token"],
    )
    return _count_by_day(events, "created_at")


def _errors_per_day(tenant, start, end):
    attempts = JobAttempt.objects.for_tenant(tenant).filter(
        outcome__in=ERROR_OUTCOMES, started_at__gte=start, started_at__lt=end
    )
    return _count_by_day(attempts, "started_at")


def _count_by_day(queryset, field):
    rows = (
        queryset.annotate(day=TruncDate(field))
        .values("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    return dict(rows)


def _daily_counts(tenant, series, days, count):
    """Return {day: count} for `days`, with the finished days cached until the day ends.

    Counts of finished days no longer change (events and attempts are stamped when they are
    written), so only today's are counted on every page view.
    """
    today = days[-1]
    key = f"portal:dashboard:{series}:{tenant.public_id}:{today.isoformat()}"
    past = cache.get(key)
    if past is None:
        past = count(tenant, _day_start(days[0]), _day_start(today))
        cache.set(key, past, timeout=24 * 60 * 60)
    current = count(tenant, _day_start(today), _day_start(today + timedelta(days=1)))
    return {**past, **current}


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def _nice_ceiling(value):
    """Return the smallest of 1, 2 or 5 times a power of ten that is ≥ `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10
