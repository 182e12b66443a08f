"""Scenarios about single calls: the portal's overhead per call, throughput, worker memory."""

import statistics
import threading
import time
from datetime import datetime

from bench import harness, stack

OVERHEAD_TARGET_MEDIAN_MS = 15
OVERHEAD_TARGET_P99_MS = 50
MEMORY_TARGET_GROWTH = 0.10

# The limiter stays on (its cost is part of the overhead), with the PAT's limits raised so
# that Keap's 10 requests a second never pace these scenarios. The sandbox gets the same
# limits: even when it does not enforce them it reports the remaining quota in its headers,
# and a reported 0 makes the limiter block the key's window for a whole minute.
RAISED = {
    "key_per_second": 100_000,
    "key_per_minute": 1_000_000,
    "key_per_day": 100_000_000,
    "tenant_per_minute": 1_000_000,
    "tenant_per_day": 100_000_000,
}
RAISED_LIMITS = ",".join(
    f"{name.replace('tenant', 'account')}={value}" for name, value in RAISED.items()
)


def raise_sandbox_limits(control):
    control.set_limits(enforced=False, **RAISED)


def _summary(values_ms):
    return {
        "median_ms": round(statistics.median(values_ms), 2),
        "p99_ms": round(harness.percentile(values_ms, 0.99), 2),
        "min_ms": round(min(values_ms), 2),
        "max_ms": round(max(values_ms), 2),
    }


# --- Overhead --------------------------------------------------------------------------------


def _direct_call(session, sandbox_url, pat):
    started = time.perf_counter()
    response = session.get(
        f"{sandbox_url}/crm/rest/v1/account/profile", headers={"X-Keap-API-Key": pat}, timeout=30
    )
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"direct call failed with HTTP {response.status_code}")
    return elapsed


def _api_call(session, web_url, job_times):
    started = time.perf_counter()
    accepted = session.post(f"{web_url}/api/v1/requests", json=_PROFILE_REQUEST, timeout=30)
    if accepted.status_code != 202:
        raise RuntimeError(f"POST /api/v1/requests failed with HTTP {accepted.status_code}")
    job_url = f"{web_url}{accepted.json()['links']['self']}"
    finished = session.get(job_url, params={"wait": 10}, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    document = finished.json() if finished.status_code == 200 else {}
    if document.get("status") != "succeeded":
        raise RuntimeError(f"job not succeeded: {finished.status_code} {finished.text[:200]}")
    created, done = (datetime.fromisoformat(document[key]) for key in ("created_at", "finished_at"))
    job_times.append((done - created).total_seconds() * 1000)
    return elapsed


_PROFILE_REQUEST = {"method": "GET", "path": "/v1/account/profile"}


def _pairs(count, direct, api):
    """Run `count` pairs, alternating which of the two goes first; return both lists."""
    direct_ms, api_ms = [], []
    for number in range(count):
        if number % 2:
            api_ms.append(api())
            direct_ms.append(direct())
        else:
            direct_ms.append(direct())
            api_ms.append(api())
    return direct_ms, api_ms


def overhead(run, *, calls=1000, latency_calls=200, latency_ms=200, warmup=20):
    """Measure Keap's account profile read directly from the sandbox and through the client
    API (`POST /api/v1/requests`, then `GET /api/v1/jobs/{id}?wait=10`), interleaved, with one
    worker process: first with no added latency, then with `latency_ms` added to every sandbox
    response."""
    harness.fresh_database(run)
    processes = harness.new_stack(run, "overhead", RATELIMIT_LIMITS=RAISED_LIMITS)
    try:
        processes.sandbox()
        harness.sandbox_settings(processes.sandbox_url)
        control = harness.sandbox_control(processes.sandbox_url)
        raise_sandbox_limits(control)
        tenant = harness.make_tenant("Overhead")
        connection, pat = harness.connect_pat(tenant, control, "ov001")
        site_key = harness.make_site(tenant, connection, ["account:read"])
        processes.web()
        processes.worker("worker", concurrency=1)

        direct_session = harness.api_session("unused")
        direct_session.headers.pop("Authorization")
        api_session = harness.api_session(site_key)

        def direct():
            return _direct_call(direct_session, processes.sandbox_url, pat)

        job_times = []

        def api():
            return _api_call(api_session, processes.web_url, job_times)

        _pairs(warmup, direct, api)
        phases = {}
        for label, count, added in (("0 ms", calls, 0), (f"{latency_ms} ms", latency_calls, 1)):
            control.clear_faults()
            if added:
                control.add_fault("latency", seconds=latency_ms / 1000, path_prefix="/crm/rest")
            job_times.clear()
            direct_ms, api_ms = _pairs(count, direct, api)
            pairs = zip(direct_ms, api_ms, strict=True)
            difference = [through - straight for straight, through in pairs]
            phases[label] = {
                "calls": count,
                "direct": _summary(direct_ms),
                "through_portal": _summary(api_ms),
                "difference": _summary(difference),
                "job_created_to_finished": _summary(job_times),
            }
            print(
                f"  overhead at {label}: direct median {phases[label]['direct']['median_ms']} ms,"
                f" portal median {phases[label]['through_portal']['median_ms']} ms"
            )
    finally:
        processes.stop()

    zero = phases["0 ms"]["difference"]
    return {
        "phases": phases,
        "targets": [
            _target(
                "overhead median at 0 ms sandbox latency",
                zero["median_ms"],
                OVERHEAD_TARGET_MEDIAN_MS,
                "ms",
            ),
            _target(
                "overhead p99 at 0 ms sandbox latency", zero["p99_ms"], OVERHEAD_TARGET_P99_MS, "ms"
            ),
        ],
    }


def _target(name, value, limit, unit, *, at_least=False):
    met = value >= limit if at_least else value <= limit
    sign = "≥" if at_least else "≤"
    return {"name": name, "value": value, "target": f"{sign} {limit} {unit}", "met": met}


# --- Throughput ------------------------------------------------------------------------------


def _submit(web_url, site_key, emails, threads):
    """Send one contact upsert per email through the API from `threads` threads; return the
    job ids."""
    ids, errors = [], []
    lock = threading.Lock()
    chunks = [emails[number::threads] for number in range(threads)]

    def send(chunk):
        session = harness.api_session(site_key)
        for email in chunk:
            response = session.post(
                f"{web_url}/api/v1/contacts:upsert", json={"email": email}, timeout=30
            )
            with lock:
                if response.status_code == 202:
                    ids.append(response.json()["id"])
                else:
                    errors.append(response.status_code)

    workers = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} upserts not accepted: {sorted(set(errors))}")
    return ids


def _finished_count(public_ids):
    from connector.models import Job

    def count():
        return (
            Job.objects.filter(public_id__in=public_ids, status__in=Job.FINISHED_STATUSES)
            .only("pk")
            .count()
        )

    return count


def throughput(run, *, jobs=1000, worker_counts=(1, 2, 4), client_threads=8):
    """Measure contact upserts through the whole pipeline (client API, fair queue, worker, sandbox)
    with quotas off, for each number of worker processes; CPU time per job from /proc."""
    results = {}
    for processes_count in worker_counts:
        harness.fresh_database(run)
        processes = harness.new_stack(
            run, f"throughput-{processes_count}", RATELIMIT_ENABLED="false"
        )
        try:
            sandbox = processes.sandbox()
            harness.sandbox_settings(processes.sandbox_url)
            control = harness.sandbox_control(processes.sandbox_url)
            raise_sandbox_limits(control)
            tenant = harness.make_tenant(f"Throughput {processes_count}")
            connection, _ = harness.connect_pat(tenant, control, f"tp{processes_count:03}")
            site_key = harness.make_site(tenant, connection, ["contacts:write"])
            web = processes.web()
            worker = processes.worker("worker", concurrency=processes_count)
            emails = [f"t{processes_count}-{number}@example.com" for number in range(jobs)]

            cpu_before = {
                "web": stack.cpu_seconds(web.pid),
                "worker": stack.cpu_seconds(worker.pid),
                "sandbox": stack.cpu_seconds(sandbox.pid),
            }
            started = time.monotonic()
            ids = _submit(processes.web_url, site_key, emails, client_threads)
            submitted = time.monotonic() - started
            harness.wait_for_jobs(_finished_count(ids), len(ids), timeout=1800)
            elapsed = time.monotonic() - started
            cpu = {
                "web": stack.cpu_seconds(web.pid) - cpu_before["web"],
                "worker": stack.cpu_seconds(worker.pid) - cpu_before["worker"],
                "sandbox": stack.cpu_seconds(sandbox.pid) - cpu_before["sandbox"],
            }
            succeeded = _succeeded(ids)
        finally:
            processes.stop()

        results[str(processes_count)] = {
            "jobs": jobs,
            "succeeded": succeeded,
            "seconds": round(elapsed, 2),
            "jobs_per_second": round(jobs / elapsed, 1),
            "api_accepts_per_second": round(jobs / submitted, 1),
            "cpu_ms_per_job": {name: round(value * 1000 / jobs, 2) for name, value in cpu.items()},
        }
        print(f"  {processes_count} worker process(es): {results[str(processes_count)]}")
    return {"client_threads": client_threads, "by_worker_processes": results, "targets": []}


def _succeeded(public_ids):
    from connector.models import Job

    return Job.objects.filter(public_id__in=public_ids, status=Job.Status.SUCCEEDED).count()


# --- Memory ----------------------------------------------------------------------------------


def _create_jobs(connection, site, count, prefix):
    """Create `count` upsert jobs the way the API does (`create_job`), committed in chunks."""
    from django.db import transaction

    from connector.api.jobs import site_actor
    from connector.jobs.contacts import keap_contact_body
    from connector.jobs.create import create_job, upsert_contact_job

    ids = []
    actor = site_actor(site)
    for start in range(0, count, 500):
        with transaction.atomic():
            for number in range(start, min(count, start + 500)):
                body = keap_contact_body({"email": f"{prefix}{number}@example.com"})
                job, _ = create_job(
                    upsert_contact_job(body), connection=connection, actor=actor, site=site
                )
                ids.append(job.public_id)
    return ids


def memory(run, *, total=20000, first=1000):
    """Measure the resident memory of one worker process after `first` and after `total`
    upsert jobs. The solo pool runs every task in that one process."""
    from connector.site_models import ClientSite

    first = min(first, total // 2)
    harness.fresh_database(run)
    processes = harness.new_stack(run, "memory", RATELIMIT_LIMITS=RAISED_LIMITS)
    try:
        processes.sandbox()
        harness.sandbox_settings(processes.sandbox_url)
        control = harness.sandbox_control(processes.sandbox_url)
        raise_sandbox_limits(control)
        tenant = harness.make_tenant("Memory")
        connection, _ = harness.connect_pat(tenant, control, "mem01")
        harness.make_site(tenant, connection, ["contacts:write"])
        site = ClientSite.objects.get(tenant=tenant)
        worker = processes.worker("worker", pool="solo")
        rss_start = stack.rss_bytes(worker.pid)

        started = time.monotonic()
        ids = _create_jobs(connection, site, first, "m1-")
        harness.wait_for_jobs(_finished_count(ids), len(ids), timeout=1800, poll=0.5)
        rss_first = stack.rss_bytes(worker.pid)
        ids += _create_jobs(connection, site, total - first, "m2-")
        harness.wait_for_jobs(_finished_count(ids), len(ids), timeout=3600, poll=1.0)
        rss_total = stack.rss_bytes(worker.pid)
        elapsed = time.monotonic() - started
        succeeded = _succeeded(ids)
    finally:
        processes.stop()

    growth = (rss_total - rss_first) / rss_first
    return {
        "jobs": total,
        "succeeded": succeeded,
        "seconds": round(elapsed, 1),
        "rss_mib": {
            "at start": round(rss_start / 2**20, 1),
            f"after {first}": round(rss_first / 2**20, 1),
            f"after {total}": round(rss_total / 2**20, 1),
        },
        "growth": round(growth, 4),
        "targets": [
            _target(
                f"worker memory growth from {first} to {total} jobs",
                round(growth * 100, 1),
                MEMORY_TARGET_GROWTH * 100,
                "%",
            )
        ],
    }
