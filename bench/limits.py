"""Scenarios about Keap's limits: how much of a PAT's quota the portal uses, and how fairly one
OAuth client's quota is shared between tenants."""

import random
import threading
import time
from datetime import datetime

from bench import harness
from bench.calls import _target

QUOTA_TARGET_RATIO = 0.95
FAIRNESS_TARGET_INDEX = 0.95
FAIRNESS_TARGET_P95_WAIT_SECONDS = 2.0

# Keap's PAT limits (https://developer.infusionsoft.com/api-token-quota-and-usage-measurements).
KEY_PER_SECOND = 10
KEY_PER_MINUTE = 240
KEY_PER_DAY = 30_000


# --- Quota use -------------------------------------------------------------------------------


def quota_minimum_span(count, factor):
    """Return the shortest time in seconds from the first to the last of `count` requests that
    Keap's PAT limits allow when every window is `factor` times shorter: at most 240 in any
    minute and 10 in any second (rolling windows)."""
    minute, second = 60.0 / factor, 1.0 / factor
    full_minutes, rest = divmod(count - 1, KEY_PER_MINUTE)
    return full_minutes * minute + (rest // KEY_PER_SECOND) * second


def quota(run, *, upserts=10_000, factor=5, batch_rows=1000, worker_processes=4):
    """Measure quota use of `upserts` contact upserts on one PAT, sent as batch jobs of
    `batch_rows` through the client API, with the sandbox enforcing Keap's PAT limits.

    Time runs `factor` times faster: the sandbox's limits are multiplied by it and the
    limiter's periods divided by it (RATELIMIT_TIME_SCALE = 1/factor).
    """
    harness.fresh_database(run)
    processes = harness.new_stack(run, "quota", RATELIMIT_TIME_SCALE=repr(1 / factor))
    try:
        processes.sandbox()
        harness.sandbox_settings(processes.sandbox_url)
        control = harness.sandbox_control(processes.sandbox_url)
        control.set_limits(enforced=False)
        tenant = harness.make_tenant("Quota")
        connection, _ = harness.connect_pat(tenant, control, "qu001")
        site_key = harness.make_site(tenant, connection, ["contacts:write"])
        processes.web()
        processes.worker("worker", concurrency=worker_processes)
        control.set_limits(
            enforced=True,
            send_retry_after=True,
            key_per_second=KEY_PER_SECOND * factor,
            key_per_minute=KEY_PER_MINUTE * factor,
            key_per_day=KEY_PER_DAY * factor,
            tenant_per_minute=10_000 * factor,
            tenant_per_day=250_000 * factor,
        )
        control.clear_requests()

        session = harness.api_session(site_key)
        ids = []
        for start in range(0, upserts, batch_rows):
            contacts = [
                {"email": f"q{number}@example.com"}
                for number in range(start, min(upserts, start + batch_rows))
            ]
            response = session.post(
                f"{processes.web_url}/api/v1/contacts:batchUpsert",
                json={"contacts": contacts},
                timeout=60,
            )
            if response.status_code != 202:
                raise RuntimeError(f"batch not accepted: HTTP {response.status_code}")
            ids.append(response.json()["id"])
        expected_seconds = quota_minimum_span(upserts, factor)
        from bench.calls import _finished_count

        harness.wait_for_jobs(
            _finished_count(ids), len(ids), timeout=expected_seconds * 3 + 120, poll=1.0
        )
        log = control.request_log(path_prefix="/crm/rest/v1/contacts")
        rows_done = _batch_rows_done(ids)
    finally:
        processes.stop()

    upsert_log = [entry for entry in log if entry["method"] == "PUT"]
    throttled = sum(1 for entry in upsert_log if entry["status"] == 429)
    answered = [entry for entry in upsert_log if entry["status"] == 200]
    times = sorted(datetime.fromisoformat(entry["time"]).timestamp() for entry in answered)
    span = times[-1] - times[0]
    shortest = quota_minimum_span(len(answered), factor)
    ratio = shortest / span
    quota_rate = KEY_PER_MINUTE * factor / 60
    return {
        "upserts": upserts,
        "time_factor": factor,
        "batch_rows": batch_rows,
        "worker_processes": worker_processes,
        "rows_done": rows_done,
        "answered_200": len(answered),
        "answered_429": throttled,
        "span_seconds": round(span, 2),
        "shortest_span_seconds": round(shortest, 2),
        "achieved_per_second": round((len(answered) - 1) / span, 2),
        "quota_per_second": round(quota_rate, 2),
        "ratio": round(ratio, 4),
        "targets": [
            _target(
                "quota use", round(ratio * 100, 1), QUOTA_TARGET_RATIO * 100, "%", at_least=True
            ),
            _target("429 answers", throttled, 0, ""),
        ],
    }


def _batch_rows_done(public_ids):
    from django.db.models import Sum

    from connector.models import Job

    return Job.objects.filter(public_id__in=public_ids).aggregate(done=Sum("progress_done"))["done"]


# --- Fairness --------------------------------------------------------------------------------


def max_min_shares(capacity, demands):
    """Return the max-min fair split of `capacity` over `demands` ({tenant: count}): each
    tenant gets its demand or an equal share of what the smaller demands leave, whichever is
    less (water-filling)."""
    shares = {}
    remaining = dict(demands)
    left = float(capacity)
    while remaining:
        equal = left / len(remaining)
        small = {tenant: demand for tenant, demand in remaining.items() if demand <= equal}
        if not small:
            for tenant in remaining:
                shares[tenant] = equal
            break
        for tenant, demand in small.items():
            shares[tenant] = float(demand)
            left -= demand
            del remaining[tenant]
    return shares


def jain_index(values):
    """Return Jain's fairness index (Σx)² / (n·Σx²) of `values`; 1.0 is perfectly fair."""
    total = sum(values)
    squares = sum(value * value for value in values)
    return total * total / (len(values) * squares) if squares else 1.0


def window_indexes(jobs, start, end, window):
    """Return Jain's index of each `window`-second window in [start, end).

    `jobs` are (tenant, created, started) in seconds, `started` None for jobs never started.
    In each window a tenant's demand is the number of its jobs waiting at some moment of it
    (created before its end and not started before its start), and its service the number
    started in it. Each tenant with demand gets x = service ÷ max-min fair share of the
    window's total service, and the index is taken over those x.
    """
    indexes = []
    position = start
    while position + window <= end:
        window_end = position + window
        demand, served = {}, {}
        for tenant, created, started in jobs:
            if created < window_end and (started is None or started >= position):
                demand[tenant] = demand.get(tenant, 0) + 1
            if started is not None and position <= started < window_end:
                served[tenant] = served.get(tenant, 0) + 1
        capacity = sum(served.values())
        if len(demand) > 1 and capacity:
            shares = max_min_shares(capacity, demand)
            indexes.append(
                jain_index([served.get(tenant, 0) / shares[tenant] for tenant in demand])
            )
        position = window_end
    return indexes


def _trickle(web_url, site_key, per_second, ids, stop_at, seed):
    session = harness.api_session(site_key)
    rng = random.Random(seed)  # noqa: S311 - arrival times, not security
    next_at = time.monotonic() + rng.expovariate(per_second)
    while next_at < stop_at:
        time.sleep(max(0.0, next_at - time.monotonic()))
        response = session.post(
            f"{web_url}/api/v1/requests",
            json={"method": "GET", "path": "/v1/account/profile"},
            timeout=30,
        )
        if response.status_code != 202:
            raise RuntimeError(f"trickle request failed with HTTP {response.status_code}")
        ids.append(response.json()["id"])
        next_at += rng.expovariate(per_second)


def _queue_backlog(connection, count):
    """Queue `count` profile reads for `connection` with `create_job`, committed together."""
    from django.db import transaction

    from connector.actor import SYSTEM
    from connector.jobs.create import create_job, request_job
    from connector.scopes import match_request

    operation = match_request("GET", "/v1/account/profile").operation
    with transaction.atomic():
        for _ in range(count):
            create_job(
                request_job(operation, "/v1/account/profile"), connection=connection, actor=SYSTEM
            )


def fairness(run, *, backlog=10_000, tenants=10, seconds=45, trickle_per_second=1.0, window=2.0):
    """Measure fairness between one tenant with `backlog` queued jobs and `tenants - 1` tenants
    sending a trickle
    (Poisson arrivals, `trickle_per_second` each) through the client API, all on one OAuth
    client with Keap's real limits (1,500 a minute for the client), for `seconds`."""
    from connector.jobs.cancel import cancel_jobs_for_connection
    from connector.models import Job

    harness.fresh_database(run)
    processes = harness.new_stack(run, "fairness")
    try:
        processes.sandbox()
        harness.sandbox_settings(processes.sandbox_url)
        control = harness.sandbox_control(processes.sandbox_url)
        control.set_limits(enforced=True, send_retry_after=True)
        harness.register_oauth_client(control)
        busy_tenant = harness.make_tenant("Busy")
        busy = harness.connect_oauth(busy_tenant, control, "fb000")
        quiet = []
        for number in range(1, tenants):
            tenant = harness.make_tenant(f"Quiet {number}")
            connection = harness.connect_oauth(tenant, control, f"fq{number:03}")
            quiet.append(harness.make_site(tenant, connection, ["account:read"]))

        queued_started = time.monotonic()
        _queue_backlog(busy, backlog)
        queue_seconds = time.monotonic() - queued_started
        processes.web()
        control.clear_requests()
        processes.worker("worker", concurrency=4)

        time.sleep(3)
        stop_at = time.monotonic() + seconds
        trickle_ids = []
        threads = [
            threading.Thread(
                target=_trickle,
                args=(processes.web_url, key, trickle_per_second, trickle_ids, stop_at),
                kwargs={"seed": number},
            )
            for number, key in enumerate(quiet)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        from bench.calls import _finished_count

        harness.wait_for_jobs(_finished_count(trickle_ids), len(trickle_ids), timeout=120)
        measured_until = time.time()
        cancel_jobs_for_connection(busy)
        time.sleep(2)
        log = control.request_log()
        rows = list(Job.objects.values_list("tenant_id", "created_at", "started_at", "public_id"))
        busy_done = Job.objects.filter(connection=busy, status=Job.Status.SUCCEEDED).count()
    finally:
        processes.stop()

    trickle_set = {str(public_id) for public_id in trickle_ids}
    waits = [
        (started - created).total_seconds()
        for _, created, started, public_id in rows
        if str(public_id) in trickle_set and started is not None
    ]
    first_trickle = min(
        created.timestamp() for _, created, _, public_id in rows if str(public_id) in trickle_set
    )
    jobs = [
        (tenant, created.timestamp(), started.timestamp() if started else None)
        for tenant, created, started, _ in rows
    ]
    indexes = window_indexes(jobs, first_trickle, measured_until, window)
    throttled = sum(1 for entry in log if entry["status"] == 429)
    p95_wait = harness.percentile(waits, 0.95)
    mean_index = sum(indexes) / len(indexes)
    return {
        "backlog": backlog,
        "backlog_queue_seconds": round(queue_seconds, 1),
        "tenants": tenants,
        "seconds": seconds,
        "trickle_jobs": len(trickle_ids),
        "backlog_jobs_done": busy_done,
        "window_seconds": window,
        "windows": len(indexes),
        "jain_mean": round(mean_index, 4),
        "jain_min": round(min(indexes), 4),
        "jain_p5": round(harness.percentile(indexes, 0.05), 4),
        "trickle_wait_p50_s": round(harness.percentile(waits, 0.5), 3),
        "trickle_wait_p95_s": round(p95_wait, 3),
        "trickle_wait_max_s": round(max(waits), 3),
        "answered_429": throttled,
        "targets": [
            _target(
                "Jain's index (mean over windows)", round(mean_index, 4), 0.95, "", at_least=True
            ),
            _target(
                "trickle tenants' p95 wait",
                round(p95_wait, 3),
                FAIRNESS_TARGET_P95_WAIT_SECONDS,
                "s",
            ),
        ],
    }
