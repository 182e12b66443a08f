"""Tests for the Redis rate limiter and the fair queue, against a real Redis server.

They use the Redis database in RATELIMIT_REDIS_URL (else the one the settings name) and keys
under a prefix unique to each test, deleted afterwards.
"""

import multiprocessing
import os
import threading
import time
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

from connector.ratelimit import (
    DEFAULT_LIMITS,
    FairQueue,
    Limit,
    QuotaHeaders,
    get_redis,
    limits_for_call,
    observe_headers,
    parse_retry_after,
    redis_client,
    redis_url,
    try_acquire,
)

# Test clock: a whole number of days and minutes since the epoch, exact in binary floats.
T0 = 86_400.0 * 12_000


@pytest.fixture
def redis_url_for_tests(settings):
    url = os.environ.get("RATELIMIT_REDIS_URL")
    if url:
        settings.RATELIMIT_REDIS_URL = url
    return redis_url()


@pytest.fixture
def redis_db(redis_url_for_tests):
    return get_redis(redis_url_for_tests)


@pytest.fixture
def prefix(redis_db):
    name = f"test-ratelimit:{uuid.uuid4().hex}:"
    yield name
    keys = list(redis_db.scan_iter(match=f"{name}*", count=1000))
    if keys:
        redis_db.delete(*keys)


def _limit(prefix, name, limit, period, **kwargs):
    return Limit(key=f"{prefix}{name}", limit=limit, period=period, **kwargs)


def _grants(limits, times, redis_db):
    return [try_acquire(limits, now=t, client=redis_db).allowed for t in times]


# --- Rolling windows --------------------------------------------------------------------------


def test_it_allows_up_to_the_limit(redis_db, prefix):
    limits = [_limit(prefix, "a", 3, 10.0)]

    assert _grants(limits, [T0, T0, T0], redis_db) == [True, True, True]
    denied = try_acquire(limits, now=T0, client=redis_db)
    assert not denied.allowed
    assert denied.retry_after == 10.0
    assert denied.denied_by == (f"{prefix}a",)


def test_it_frees_rolling_window_at_boundary(redis_db, prefix):
    limits = [_limit(prefix, "a", 3, 10.0)]
    _grants(limits, [T0, T0 + 4, T0 + 8], redis_db)

    just_before = try_acquire(limits, now=T0 + 9.999, client=redis_db)
    assert not just_before.allowed
    assert just_before.retry_after == pytest.approx(0.001, abs=1e-6)
    assert try_acquire(limits, now=T0 + 10, client=redis_db).allowed
    later = try_acquire(limits, now=T0 + 11, client=redis_db)
    assert not later.allowed
    assert later.retry_after == pytest.approx(3.0)
    assert try_acquire(limits, now=T0 + 14, client=redis_db).allowed


def test_it_keeps_every_window_alignment_under_limit(redis_db, prefix):
    limits = [_limit(prefix, "a", 4, 1.0)]
    granted = []
    t = T0
    while t < T0 + 5:
        if try_acquire(limits, now=t, client=redis_db).allowed:
            granted.append(t)
        t = round(t + 0.01, 6)

    for start in granted:
        in_window = [g for g in granted if start <= g < start + 1.0]
        assert len(in_window) <= 4, f"{len(in_window)} grants in [{start}, {start + 1.0})"
    assert len(granted) >= 4 * 5 - 1


# --- Fixed windows ----------------------------------------------------------------------------


def test_it_resets_fixed_window_at_boundary(redis_db, prefix):
    limits = [_limit(prefix, "day", 2, 86_400.0, fixed=True)]
    end_of_day = T0 + 86_400

    assert _grants(limits, [T0 + 100, end_of_day - 1], redis_db) == [True, True]
    last_second = try_acquire(limits, now=end_of_day - 0.5, client=redis_db)
    assert not last_second.allowed
    assert last_second.retry_after == 0.5
    assert _grants(limits, [end_of_day, end_of_day, end_of_day], redis_db) == [True, True, False]


def test_it_counts_fixed_windows_separately(redis_db, prefix):
    limits = [_limit(prefix, "minute", 1, 60.0, fixed=True)]

    assert _grants(limits, [T0 + 59.9, T0 + 60, T0 + 119.9, T0 + 120], redis_db) == [
        True,
        True,
        False,
        True,
    ]


# --- Several windows --------------------------------------------------------------------------


def test_it_takes_from_all_windows_or_none(redis_db, prefix):
    narrow = _limit(prefix, "narrow", 1, 10.0)
    wide = _limit(prefix, "wide", 5, 10.0)
    day = _limit(prefix, "day", 5, 86_400.0, fixed=True)

    assert try_acquire([narrow, wide, day], now=T0, client=redis_db).allowed
    denied = try_acquire([narrow, wide, day], now=T0 + 1, client=redis_db)

    assert not denied.allowed
    assert denied.denied_by == (narrow.key,)
    assert redis_db.zcard(wide.key) == 1
    assert redis_db.hget(day.key, "count") == b"1"
    assert _grants([wide, day], [T0 + 2] * 5, redis_db) == [True, True, True, True, False]


def test_it_returns_longest_wait(redis_db, prefix):
    short = _limit(prefix, "short", 1, 2.0)
    long = _limit(prefix, "long", 1, 30.0)
    try_acquire([short, long], now=T0, client=redis_db)

    denied = try_acquire([short, long], now=T0 + 1, client=redis_db)

    assert denied.retry_after == 29.0
    assert set(denied.denied_by) == {short.key, long.key}


def test_it_uses_redis_clock(redis_db, prefix):
    decision = try_acquire([_limit(prefix, "a", 1, 1.0)], client=redis_db)
    server_seconds, server_microseconds = redis_db.time()

    assert decision.allowed
    assert abs(decision.checked_at - (server_seconds + server_microseconds / 1e6)) < 5


def test_it_allows_empty_limits():
    decision = try_acquire([])

    assert decision.allowed
    assert decision.checked_at is None


def test_it_rejects_repeated_keys(prefix):
    limit = _limit(prefix, "a", 1, 1.0)

    with pytest.raises(ValueError, match="each key may appear once"):
        try_acquire([limit, limit])


@pytest.mark.parametrize(
    ("limit", "period"), [(0, 1.0), (-1, 1.0), (1.5, 1.0), (1, 0.0), (1, -1.0)]
)
def test_it_rejects_invalid_limits(limit, period):
    with pytest.raises(ValueError, match="Invalid"):
        Limit(key="k", limit=limit, period=period)


# --- Many workers -----------------------------------------------------------------------------

HAMMER_LIMIT = 50
HAMMER_SECONDS = 4.0


def _hammer(url, limits, deadline, start_event, results):
    client = get_redis(url)
    granted = []
    start_event.wait()
    while time.time() < deadline:
        decision = try_acquire(limits, client=client)
        if decision.allowed:
            granted.append(decision.checked_at)
        else:
            time.sleep(min(decision.retry_after, 0.002))
    results.put(granted)


def _hammer_process(url, limits, deadline, start_event, results, threads):
    workers = [
        threading.Thread(target=_hammer, args=(url, limits, deadline, start_event, results))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


@pytest.mark.slow
def test_it_holds_limit_across_threads_and_processes(settings, redis_url_for_tests, prefix):
    settings.RATELIMIT_KEY_PREFIX = prefix
    settings.RATELIMIT_LIMITS = {"key_per_second": HAMMER_LIMIT, "key_per_minute": 100_000}
    # The half-second least stretch would cap the rate at two thirds of the limit by design.
    settings.RATELIMIT_SAFETY_SECONDS = 0
    limits = limits_for_call("cred-1", "pat", account_id="acct-1")
    context = multiprocessing.get_context("spawn")
    start_event = context.Event()
    results = context.Queue()
    deadline = time.time() + 3.0 + HAMMER_SECONDS

    processes = [
        context.Process(
            target=_hammer_process,
            args=(redis_url_for_tests, limits, deadline, start_event, results, 2),
        )
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    threads = [
        threading.Thread(
            target=_hammer, args=(redis_url_for_tests, limits, deadline, start_event, results)
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(2.5)  # lets the spawned interpreters import the modules before the start
    start_event.set()

    granted = []
    for _ in range(8 + 2 * 2):
        granted += results.get(timeout=60)
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(timeout=30)
    granted.sort()

    assert all(process.exitcode == 0 for process in processes)
    # Every window of one second, whatever its start, contains at most the limit.
    for index, start in enumerate(granted):
        end = index
        while end < len(granted) and granted[end] < start + 1.0:
            end += 1
        assert end - index <= HAMMER_LIMIT, f"{end - index} grants in the second from {start}"
    # A saturated limiter grants in bursts of up to the limit, one burst per period, so the
    # rate is measured from the first grant to the first grant of a later burst.
    periods = (len(granted) - 1) // HAMMER_LIMIT
    assert periods >= 3
    last = periods * HAMMER_LIMIT
    rate = last / (granted[last] - granted[0])
    assert rate >= 0.95 * HAMMER_LIMIT, f"{rate:.1f} grants per second"


# --- Limits for a Keap call -------------------------------------------------------------------


def test_it_builds_pat_limits(settings):
    settings.RATELIMIT_KEY_PREFIX = "rl:"
    settings.RATELIMIT_SAFETY_MARGIN = 0.02

    limits = limits_for_call("41", "pat", account_id="ab123")

    assert [(limit.key, limit.limit, limit.period, limit.fixed) for limit in limits] == [
        ("rl:key:41:second", 10, 1.5, False),
        ("rl:key:41:minute", 240, 61.2, False),
        ("rl:key:41:day", 30_000, 86_400.0, True),
        ("rl:account:ab123:minute", 10_000, 61.2, False),
        ("rl:account:ab123:day", 250_000, 86_400.0, True),
    ]


def test_it_builds_oauth_limits(settings):
    settings.RATELIMIT_KEY_PREFIX = "rl:"
    settings.RATELIMIT_SAFETY_MARGIN = 0
    settings.RATELIMIT_SAFETY_SECONDS = 0

    limits = limits_for_call("41", "oauth", client_id="client-7", account_id="ab123")

    assert [(limit.key, limit.limit, limit.period) for limit in limits] == [
        ("rl:client:client-7:minute", 1_500, 60.0),
        ("rl:client:client-7:day", 150_000, 86_400.0),
        ("rl:account:ab123:minute", 10_000, 60.0),
        ("rl:account:ab123:day", 250_000, 86_400.0),
    ]


def test_it_skips_unknown_account(settings):
    limits = limits_for_call("41", "sak")

    assert {limit.subject for limit in limits} == {"key"}


def test_it_applies_overrides_and_time_scale(settings):
    settings.RATELIMIT_LIMITS = {"key_per_second": "50"}
    settings.RATELIMIT_TIME_SCALE = 0.01
    settings.RATELIMIT_SAFETY_MARGIN = 0
    settings.RATELIMIT_SAFETY_SECONDS = 0

    limits = limits_for_call("41", "pat")

    assert [limit.limit for limit in limits] == [50, 240, 30_000]
    assert [limit.period for limit in limits] == pytest.approx([0.01, 0.6, 864.0])


def test_it_switches_off(settings):
    settings.RATELIMIT_ENABLED = False

    assert limits_for_call("41", "pat", account_id="ab123") == []


def test_it_defaults_to_keaps_limits():
    assert DEFAULT_LIMITS == {
        "key_per_second": 10,
        "key_per_minute": 240,
        "key_per_day": 30_000,
        "client_per_minute": 1_500,
        "client_per_day": 150_000,
        "account_per_minute": 10_000,
        "account_per_day": 250_000,
    }


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("RATELIMIT_LIMITS", {"key_per_hour": 5}, "Unknown RATELIMIT_LIMITS name"),
        ("RATELIMIT_LIMITS", {"key_per_second": 0}, "Invalid RATELIMIT_LIMITS value"),
        ("RATELIMIT_LIMITS", {"key_per_second": "ten"}, "Invalid RATELIMIT_LIMITS value"),
        ("RATELIMIT_TIME_SCALE", 0, "Invalid RATELIMIT_TIME_SCALE"),
        ("RATELIMIT_SAFETY_MARGIN", 1.5, "Invalid RATELIMIT_SAFETY_MARGIN"),
        ("RATELIMIT_SAFETY_SECONDS", -0.1, "Invalid RATELIMIT_SAFETY_SECONDS"),
        ("RATELIMIT_SAFETY_SECONDS", "soon", "Invalid RATELIMIT_SAFETY_SECONDS"),
    ],
)
def test_it_rejects_invalid_settings(settings, setting, value, message):
    setattr(settings, setting, value)

    with pytest.raises(ValueError, match=message):
        limits_for_call("41", "pat")


def test_it_rejects_invalid_call_details():
    with pytest.raises(ValueError, match="Invalid credential method"):
        limits_for_call("41", "apikey")
    with pytest.raises(ValueError, match="Missing OAuth client id"):
        limits_for_call("41", "oauth")
    with pytest.raises(ValueError, match="Missing credential id"):
        limits_for_call("", "pat")


def test_it_reads_redis_url_from_settings(settings):
    settings.RATELIMIT_REDIS_URL = ""
    settings.CACHE_URL = ""
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"
    assert redis_url() == "redis://127.0.0.1:6379/9"

    settings.CACHE_URL = "redis://127.0.0.1:6379/8"
    assert redis_url() == "redis://127.0.0.1:6379/8"

    settings.RATELIMIT_REDIS_URL = "redis://127.0.0.1:6379/7"
    assert redis_url() == "redis://127.0.0.1:6379/7"


def test_it_requires_a_redis_url(settings):
    settings.RATELIMIT_REDIS_URL = ""
    settings.CACHE_URL = ""
    settings.CELERY_BROKER_URL = "filesystem://"

    with pytest.raises(ImproperlyConfigured, match="Missing RATELIMIT_REDIS_URL"):
        redis_url()


def test_it_shares_one_client_per_url():
    first = redis_client.get_redis("redis://127.0.0.1:6379/6")

    assert redis_client.get_redis("redis://127.0.0.1:6379/6") is first


# --- Keap's quota headers ---------------------------------------------------------------------


def _pat_limits(prefix, per_minute=10):
    return [
        _limit(prefix, "key:second", 5, 1.0, subject="key", window="second"),
        _limit(prefix, "key:minute", per_minute, 60.0, subject="key", window="minute"),
        _limit(prefix, "key:day", 100, 86_400.0, fixed=True, subject="key", window="day"),
        _limit(prefix, "account:minute", 50, 60.0, subject="account", window="minute"),
        _limit(prefix, "account:day", 500, 86_400.0, fixed=True, subject="account", window="day"),
    ]


def _count_allowed(limits, now, redis_db, attempts=20):
    return sum(try_acquire(limits, now=now, client=redis_db).allowed for _ in range(attempts))


def test_it_blocks_window_keap_reports_empty(redis_db, prefix):
    limits = _pat_limits(prefix)
    minute = limits[1]

    tightened = observe_headers(
        limits, QuotaHeaders(product_throttle_available=0), now=T0, client=redis_db
    )
    denied = try_acquire(limits, now=T0 + 1, client=redis_db)

    assert tightened == [minute.key]
    assert not denied.allowed
    assert denied.denied_by == (minute.key,)
    assert denied.retry_after == 59.0
    assert try_acquire(limits, now=T0 + 60, client=redis_db).allowed


def test_it_lowers_room_to_keaps_count(redis_db, prefix):
    minute = _limit(prefix, "key:minute", 10, 60.0, subject="key", window="minute")
    _grants([minute], [T0, T0], redis_db)

    observe_headers([minute], QuotaHeaders(product_throttle_available=5), now=T0, client=redis_db)

    assert redis_db.zcard(minute.key) == 5
    assert _count_allowed([minute], T0 + 1, redis_db) == 5


def test_it_never_loosens(redis_db, prefix):
    minute = _limit(prefix, "key:minute", 10, 60.0, subject="key", window="minute")
    _grants([minute], [T0] * 6, redis_db)

    tightened = observe_headers(
        [minute], QuotaHeaders(product_throttle_available=8), now=T0, client=redis_db
    )

    assert tightened == []
    assert _count_allowed([minute], T0 + 1, redis_db) == 4


def test_it_never_shortens_a_block(redis_db, prefix):
    minute = _limit(prefix, "key:minute", 10, 60.0, subject="key", window="minute")
    observe_headers([minute], QuotaHeaders(throttled=True, retry_after=30), now=T0, client=redis_db)

    observe_headers([minute], QuotaHeaders(throttled=True, retry_after=5), now=T0, client=redis_db)
    denied = try_acquire([minute], now=T0 + 10, client=redis_db)

    assert denied.retry_after == 20.0


def test_it_raises_daily_count(redis_db, prefix):
    limits = _pat_limits(prefix)
    day = limits[2]
    try_acquire(limits, now=T0, client=redis_db)

    observe_headers(limits, QuotaHeaders(product_quota_available=90), now=T0, client=redis_db)

    assert redis_db.hget(day.key, "count") == b"10"


def test_it_blocks_day_until_keaps_expiry(redis_db, prefix):
    limits = _pat_limits(prefix)
    expiry_ms = int((T0 + 3_600) * 1000)

    observe_headers(
        limits,
        QuotaHeaders(product_quota_available=0, product_quota_expiry_ms=expiry_ms),
        now=T0,
        client=redis_db,
    )
    before_midnight = try_acquire(limits, now=T0 + 100, client=redis_db)

    assert not before_midnight.allowed
    # Our own UTC day ends at T0 + 86,400 and is full.
    assert before_midnight.retry_after == 86_300.0


def test_it_blocks_past_our_midnight_until_expiry(redis_db, prefix):
    limits = _pat_limits(prefix)
    observe_headers(
        limits,
        QuotaHeaders(product_quota_available=0, product_quota_expiry_ms=int((T0 + 5) * 1000)),
        now=T0 - 1,
        client=redis_db,
    )

    just_after_our_midnight = try_acquire(limits, now=T0 + 1, client=redis_db)

    assert not just_after_our_midnight.allowed
    assert just_after_our_midnight.retry_after == 4.0
    assert try_acquire(limits, now=T0 + 5, client=redis_db).allowed


def test_it_applies_tenant_header_to_account(redis_db, prefix):
    limits = _pat_limits(prefix)
    account_minute = limits[3]
    account_day = limits[4]

    tightened = observe_headers(
        limits,
        QuotaHeaders(tenant_throttle_available=0, tenant_quota_available=400),
        now=T0,
        client=redis_db,
    )

    assert tightened == [account_minute.key, account_day.key]
    assert try_acquire(limits, now=T0 + 1, client=redis_db).denied_by == (account_minute.key,)
    assert redis_db.hget(account_day.key, "count") == b"100"


def test_it_blocks_credential_on_429(redis_db, prefix):
    limits = _pat_limits(prefix)[:3]

    observe_headers(limits, QuotaHeaders(throttled=True, retry_after=7), now=T0, client=redis_db)
    denied = try_acquire(limits, now=T0 + 2, client=redis_db)

    assert not denied.allowed
    assert denied.retry_after == 5.0
    assert try_acquire(limits, now=T0 + 7, client=redis_db).allowed


def test_it_blocks_account_not_client_on_429(redis_db, prefix):
    client_minute = _limit(prefix, "client:minute", 100, 60.0, subject="client", window="minute")
    account_minute = _limit(prefix, "account:minute", 100, 60.0, subject="account", window="minute")
    other_account = _limit(prefix, "other:minute", 100, 60.0, subject="account", window="minute")

    tightened = observe_headers(
        [client_minute, account_minute],
        QuotaHeaders(throttled=True, retry_after=10),
        now=T0,
        client=redis_db,
    )

    assert tightened == [account_minute.key]
    assert not try_acquire([client_minute, account_minute], now=T0 + 1, client=redis_db).allowed
    assert try_acquire([client_minute, other_account], now=T0 + 1, client=redis_db).allowed


def test_it_blocks_one_second_on_bare_429(redis_db, prefix):
    limits = _pat_limits(prefix)[:3]

    observe_headers(limits, QuotaHeaders(throttled=True), now=T0, client=redis_db)

    assert not try_acquire(limits, now=T0 + 0.5, client=redis_db).allowed
    assert try_acquire(limits, now=T0 + 1, client=redis_db).allowed


def test_it_ignores_responses_without_quota_headers(redis_db, prefix):
    assert observe_headers(_pat_limits(prefix), QuotaHeaders(), now=T0, client=redis_db) == []


def test_it_parses_keap_headers():
    headers = {
        "X-Keap-Product-Throttle-Available": "12",
        "x-keap-product-quota-available": "29000",
        "x-keap-product-quota-expiry-time": "1723680000000",
        "x-keap-tenant-throttle-available": "9990|249000",
        "x-keap-tenant-throttle-time-unit": "minute|day",
        "Retry-After": "3",
    }

    parsed = QuotaHeaders.from_response(headers, 429)

    assert parsed == QuotaHeaders(
        product_throttle_available=12,
        product_quota_available=29_000,
        product_quota_expiry_ms=1_723_680_000_000,
        tenant_throttle_available=9_990,
        tenant_quota_available=249_000,
        retry_after=3.0,
        throttled=True,
    )


def test_it_parses_single_tenant_value():
    parsed = QuotaHeaders.from_response({"x-keap-tenant-throttle-available": "4999"}, 200)

    assert parsed.tenant_throttle_available == 4_999
    assert parsed.tenant_quota_available is None
    assert not parsed.throttled


def test_it_treats_bad_header_values_as_absent():
    parsed = QuotaHeaders.from_response(
        {"x-keap-product-throttle-available": "many", "retry-after": "soon"}, 429
    )

    assert parsed.product_throttle_available is None
    assert parsed.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("999999", 86_400.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30.0),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_it_parses_retry_after(value, expected):
    now = 1_445_412_450.0  # 30 seconds before 07:28:00 GMT on 21 Oct 2015

    assert parse_retry_after(value, now=now) == expected


# --- Fair queue -------------------------------------------------------------------------------


@pytest.fixture
def queue(redis_db, prefix):
    return FairQueue("jobs", client=redis_db, key_prefix=prefix)


def test_it_serves_small_tenant_promptly(queue):
    for index in range(10_000):
        queue.push("A", f"a-{index}")
    queue.push("B", "b-0")

    popped = [queue.pop(), queue.pop()]

    assert ("B", "b-0") in popped
    assert queue.length("A") == 9_999
    assert queue.length("B") == 0


def test_it_keeps_order_within_tenant(queue):
    for index in range(5):
        queue.push("A", f"a-{index}")

    assert [queue.pop()[1] for _ in range(5)] == [f"a-{index}" for index in range(5)]
    assert queue.pop() is None


def test_it_lists_waiting_job_ids(queue):
    queue.push("A", "a-1")
    queue.push("B", "b-1")
    queue.requeue_front("A", "a-0")

    assert queue.job_ids("A") == ["a-0", "a-1"]
    assert queue.job_ids("B") == ["b-1"]
    assert queue.job_ids("C") == []


def test_it_shares_pops_fairly(queue):
    backlog = {"t1": 1_000, "t2": 300, "t3": 120, "t4": 100, "t5": 2_000}
    for tenant, count in backlog.items():
        for index in range(count):
            queue.push(tenant, f"{tenant}-{index}")

    popped = {tenant: 0 for tenant in backlog}
    for _ in range(5 * 100):
        tenant, _job = queue.pop()
        popped[tenant] += 1
    counts = list(popped.values())
    jain_index = sum(counts) ** 2 / (len(counts) * sum(count**2 for count in counts))

    assert jain_index >= 0.99
    assert counts == [100, 100, 100, 100, 100]


def test_it_requeues_at_front(queue):
    queue.push("A", "a-0")
    queue.push("A", "a-1")
    queue.push("B", "b-0")
    tenant, job = queue.pop()

    queue.requeue_front(tenant, job)

    assert queue.length("A") == 2
    assert [queue.pop() for _ in range(3)] == [("B", "b-0"), ("A", "a-0"), ("A", "a-1")]


def test_it_requeues_last_job_of_tenant(queue):
    queue.push("A", "a-0")
    queue.push("B", "b-0")
    tenant, job = queue.pop()

    queue.requeue_front(tenant, job)

    assert queue.tenants() == ["B", "A"]
    assert [queue.pop() for _ in range(3)] == [("B", "b-0"), ("A", "a-0"), None]


def test_it_clears_a_tenant(queue):
    for index in range(3):
        queue.push("A", f"a-{index}")
    queue.push("B", "b-0")

    assert queue.clear("A") == 3
    assert queue.tenants() == ["B"]
    assert queue.pop() == ("B", "b-0")
    assert queue.pop() is None


def test_it_rejects_empty_ids(queue):
    with pytest.raises(ValueError, match="Invalid tenant id"):
        queue.push("", "job")
    with pytest.raises(ValueError, match="Invalid job id"):
        queue.push("A", "")


def test_it_pops_each_job_once_under_concurrency(queue):
    tenants = [f"t{index}" for index in range(6)]
    pushed = {f"{tenant}-{index}" for tenant in tenants for index in range(500)}
    popped = []
    popped_lock = threading.Lock()
    pushing_done = threading.Event()

    def push_all(tenant):
        for index in range(500):
            queue.push(tenant, f"{tenant}-{index}")

    def pop_until_empty():
        while True:
            item = queue.pop()
            if item is None:
                if pushing_done.is_set():
                    return
                time.sleep(0.001)
                continue
            with popped_lock:
                popped.append(item)

    pushers = [threading.Thread(target=push_all, args=(tenant,)) for tenant in tenants]
    poppers = [threading.Thread(target=pop_until_empty) for _ in range(4)]
    for thread in pushers + poppers:
        thread.start()
    for thread in pushers:
        thread.join()
    pushing_done.set()
    for thread in poppers:
        thread.join(timeout=60)

    jobs = [job for _tenant, job in popped]
    assert len(jobs) == len(pushed)
    assert len(set(jobs)) == len(jobs)
    assert set(jobs) == pushed
    assert all(job.startswith(tenant + "-") for tenant, job in popped)
    assert queue.tenants() == []
