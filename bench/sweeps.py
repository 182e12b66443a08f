"""Scenarios about bulk work without a client: the scheduled token refresh, and audit writes."""

import json
import multiprocessing
import time
from datetime import timedelta

from bench import harness, stack

AUDIT_PAGE_RESULTS = stack.BASE_DIR / "bench" / "results" / "audit_page.json"


# --- Refresh sweep ---------------------------------------------------------------------------


def _oauth_connection_rows(tenant, app_name, tokens):
    """Store an active OAuth connection with `tokens`, its access token due for refresh.

    Written directly with the vault, like the test factories, instead of through
    `do_add_pending_oauth`, whose check with Keap would add a userinfo call per connection.
    """
    from django.utils import timezone

    from connector.actor import SYSTEM
    from connector.models import Connection, Credential
    from connector.vault import credentials as vault
    from tenants.audit import record_event

    connection = Connection.objects.create(
        tenant=tenant,
        method=Connection.Method.OAUTH,
        status=Connection.Status.ACTIVE,
        keap_tenant_id=f"{app_name}.infusionsoft.com",
        keap_account_name=f"Bench {app_name}",
        connected_at=timezone.now(),
    )
    credential = Credential(
        tenant=tenant,
        connection=connection,
        access_token_expires_at=timezone.now() + timedelta(minutes=10),
        refresh_token_issued_at=timezone.now(),
    )
    vault.store(
        credential,
        {
            Credential.Field.ACCESS_TOKEN: tokens.access_token,
            Credential.Field.REFRESH_TOKEN: tokens.refresh_token,
        },
    )
    # The portal's own connect flow writes this event, so every tenant has an audit chain
    # before its first refresh, as in production.
    record_event(
        tenant,
        "connection.created",
        **SYSTEM.audit_fields(),
        target_type="connection",
        target_id=connection.public_id,
        details={"method": "oauth"},
    )


def _refresh_layout(run, label, connections, tenants, worker_processes):
    from django.utils import timezone

    from connector.models import Credential
    from connector.ratelimit import get_redis
    from connector.tasks import refresh_due_tokens

    harness.fresh_database(run)
    processes = harness.new_stack(run, f"refresh-{label}", BENCH_COUNT_QUERIES="1")
    try:
        processes.sandbox()
        harness.sandbox_settings(processes.sandbox_url)
        control = harness.sandbox_control(processes.sandbox_url)
        control.set_limits(enforced=False)
        harness.register_oauth_client(control)

        setup_started = time.monotonic()
        tenant_rows = [harness.make_tenant(f"Refresh {number}") for number in range(tenants)]
        for number in range(connections):
            app_name = f"r{label[:2]}{number:05}"
            tokens = harness.oauth_tokens(control, app_name)
            _oauth_connection_rows(tenant_rows[number % tenants], app_name, tokens)
        setup_seconds = time.monotonic() - setup_started

        worker = processes.worker("worker", concurrency=worker_processes)
        counts_key = f"bench:queries:{run.celery_queue}"
        get_redis().delete(counts_key)
        cpu_before = stack.cpu_seconds(worker.pid)
        started_at = timezone.now()
        started = time.monotonic()
        refresh_due_tokens.apply_async()

        def refreshed():
            return Credential.objects.filter(
                is_pending=False, refresh_token_issued_at__gt=started_at
            ).count()

        harness.wait_for_jobs(refreshed, connections, timeout=3600, poll=0.5)
        elapsed = time.monotonic() - started
        worker_cpu = stack.cpu_seconds(worker.pid) - cpu_before
        time.sleep(1)
        counts = {
            key.decode(): int(value) for key, value in get_redis().hgetall(counts_key).items()
        }
    finally:
        processes.stop()

    task = "connector.tasks.refresh_connection_token"
    tasks = counts.get(f"{task}:tasks", 0)
    queries = counts.get(f"{task}:queries", 0)
    return {
        "connections": connections,
        "tenants": tenants,
        "setup_seconds": round(setup_seconds, 1),
        "seconds": round(elapsed, 2),
        "refreshes_per_second": round(connections / elapsed, 1),
        "refresh_tasks": tasks,
        "queries_per_refresh": round(queries / tasks, 2) if tasks else None,
        "sweep_queries": counts.get("connector.tasks.refresh_due_tokens:queries"),
        "worker_cpu_ms_per_refresh": round(worker_cpu * 1000 / connections, 2),
    }


def refresh(run, *, connections=600, worker_processes=4, few_tenants=10):
    """OAuth connections due for refresh in three layouts: `connections` over `few_tenants`
    tenants, `connections` with one tenant each, and a quarter as many with one tenant each.
    `refresh_due_tokens` queues one refresh task per connection, and the worker's queries are
    counted per task (bench/query_counter.py).

    The target compares the two one-tenant-per-connection layouts, which differ only in the
    number of tenants: queries per refresh must not grow with it.
    """
    quarter = max(1, connections // 4)
    layouts = {
        "few": _refresh_layout(run, "few", connections, few_tenants, worker_processes),
        "quarter": _refresh_layout(run, "quarter", quarter, quarter, worker_processes),
        "many": _refresh_layout(run, "many", connections, connections, worker_processes),
    }
    for name, result in layouts.items():
        print(f"  refresh, {name}: {result}")
    small = layouts["quarter"]["queries_per_refresh"]
    large = layouts["many"]["queries_per_refresh"]
    constant = small is not None and large is not None and abs(large - small) < 0.5
    return {
        "layouts": layouts,
        "targets": [
            {
                "name": "queries per refresh independent of the number of tenants",
                "value": f"{small} with {quarter} tenants, {large} with {connections}",
                "target": "equal within 0.5",
                "met": constant,
            }
        ],
    }


# --- Audit -----------------------------------------------------------------------------------


def _write_events(tenant_pk, seconds, results):
    """Write audit events for one tenant, one transaction each, for `seconds`; put the count
    on `results`. Runs in a spawned process with the harness's environment."""
    import django

    django.setup()
    from connector.actor import SYSTEM
    from tenants.audit import record_event
    from tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_pk)
    written = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record_event(
            tenant,
            "job.created",
            **SYSTEM.audit_fields(),
            target_type="job",
            target_id=f"bench-{written}",
            details={"kind": "request", "method": "GET", "n": written},
        )
        written += 1
    results.put(written)


def _audit_mode(tenant_pks, writers, seconds):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(
            target=_write_events, args=(tenant_pks[number % len(tenant_pks)], seconds, results)
        )
        for number in range(writers)
    ]
    for process in processes:
        process.start()
    counts = [results.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    total = sum(counts)
    return {
        "writers": writers,
        "tenants": len(tenant_pks),
        "seconds": seconds,
        "events": total,
        "events_per_second": round(total / seconds, 1),
    }


def audit(run, *, seconds=10, writers=8):
    """Audit events written per second through `record_event` (hash chain, one transaction
    per event) by separate processes: one tenant with one writer, `writers` tenants with one
    writer each, and one tenant with `writers` writers. Adds the audit log page's figures from
    bench/results/audit_page.json (written by bench/audit_page.py)."""
    from django.core.management import call_command

    harness.fresh_database(run)
    tenants = [harness.make_tenant(f"Audit {number}").pk for number in range(writers)]
    modes = {
        "1 tenant, 1 writer": _audit_mode(tenants[:1], 1, seconds),
        f"{writers} tenants, 1 writer each": _audit_mode(tenants, writers, seconds),
        f"1 tenant, {writers} writers": _audit_mode(tenants[:1], writers, seconds),
    }
    for name, result in modes.items():
        print(f"  audit, {name}: {result['events_per_second']} events/s")
    call_command("audit_verify", verbosity=0)

    page = None
    if AUDIT_PAGE_RESULTS.exists():
        document = json.loads(AUDIT_PAGE_RESULTS.read_text())
        page = {
            "events": document["events"],
            "measured_at": document["measured_at"],
            "first_page": document["scenarios"]["first page"],
            "slowest_median_ms": max(
                result["median_ms"] for result in document["scenarios"].values()
            ),
        }
    return {"modes": modes, "chain_verified": True, "log_page": page, "targets": []}
