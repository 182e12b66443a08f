"""Benchmark of the audit log page on a log of 1,000,000 events of one tenant.

Creates (or recreates) its own PostgreSQL database, migrates it and loads the events with COPY.
Then it requests the page in-process with Django's test client. For each scenario it reports
the median and p95 server time of N requests, the number of SQL queries and the indexes that
the event query's plan uses. Prints a table and writes bench/results/audit_page.json.

    PORTAL_MODE=test .venv/bin/python bench/audit_page.py \\
        --database-url postgres://postgres@127.0.0.1:5432/portal_bench \\
        --cache-url redis://127.0.0.1:6379/14

The loaded events carry valid hashes and form a chain that `audit_verify` accepts, but they
are generated, not written through `record_event`. The time measured is that of Django's
request handling in this process (middleware, view, queries, template), without a network or
a WSGI server.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_PATH = BASE_DIR / "bench" / "results" / "audit_page.json"

# (action, weight, target type): a client-site-heavy log, as a busy tenant would have.
ACTIONS = [
    ("keap.called", 700, "connection"),
    ("job.queued", 150, "job"),
    ("credential.decrypted", 80, "connection"),
    ("connection.checked", 30, "connection"),
    ("token.refreshed", 20, "connection"),
    ("site_key.rejected", 10, "site_key"),
    ("scope.denied", 5, "client_site"),
    ("login.succeeded", 4, "user"),
    ("site.created", 1, "client_site"),
]
OPERATOR_EVERY = 50_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/portal_bench",
        help="PostgreSQL URL of the benchmark's own database; it is dropped and recreated.",
    )
    parser.add_argument(
        "--cache-url", default="redis://127.0.0.1:6379/14", help="Redis URL for Django's cache."
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="Events to load.")
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per scenario.")
    parser.add_argument(
        "--reuse", action="store_true", help="Keep an already loaded database instead."
    )
    return parser.parse_args()


def setup_django(args):
    os.environ["PORTAL_MODE"] = "test"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CACHE_URL"] = args.cache_url
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def recreate_database(database_url):
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"Invalid database name {name!r}: use letters, digits and underscores.")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')


def make_owner():
    from django.contrib.auth import get_user_model

    from tenants.models import Membership, Tenant

    tenant = Tenant.objects.create(name="Bench tenant")
    user = get_user_model().objects.create_user(
        username="bench-owner@example.com", email="bench-owner@example.com", password=None
    )
    Membership.objects.create(tenant=tenant, user=user, role=Membership.Role.OWNER)
    return tenant, user


def generate_events(tenant, count, rng):
    """Yield COPY rows of `count` chained events, oldest first, spread over the last year."""
    from tenants.audit import GENESIS_HASH, compute_hash

    actions = [action for action, _, _ in ACTIONS]
    weights = [weight for _, weight, _ in ACTIONS]
    target_types = {action: target for action, _, target in ACTIONS}
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / count
    previous_hash = GENESIS_HASH

    for sequence in range(1, count + 1):
        action = rng.choices(actions, weights)[0]
        actor_type, actor_id, actor_label = "client_site", f"site-{rng.randrange(20)}", "Shop"
        if action == "login.succeeded":
            actor_type, actor_id, actor_label = "user", str(rng.randrange(5)), "user@example.com"
        if sequence % OPERATOR_EVERY == 0:
            action, actor_type, actor_id, actor_label = (
                "operator.accessed",
                "operator",
                "1",
                "staff@example.com",
            )
        roll = rng.random()
        outcome = "success"
        if roll < 0.02:
            outcome = "failure"
        elif roll < 0.03:
            outcome = "denied"
        values = {
            "sequence": sequence,
            "created_at": start + step * sequence,
            "actor_type": actor_type,
            "actor_id": actor_id,
            "action": action,
            "target_type": target_types.get(action, "tenant"),
            "target_id": f"target-{rng.randrange(5000)}",
            "outcome": outcome,
            "request_id": f"{sequence:032x}",
            "source_ip": "198.51.100.7",
            "user_agent": "bench/1.0",
            "details": {"n": sequence % 97},
            "previous_hash": previous_hash,
        }
        values["hash"] = compute_hash(tenant.public_id, values)
        previous_hash = values["hash"]
        yield (
            tenant.pk,
            sequence,
            values["created_at"],
            actor_type,
            actor_id,
            actor_label,
            action,
            values["target_type"],
            values["target_id"],
            outcome,
            values["request_id"],
            values["source_ip"],
            values["user_agent"],
            json.dumps(values["details"]),
            values["previous_hash"],
            values["hash"],
        )


def load_events(tenant, count):
    from django.db import connection

    from tenants.models import AuditChainHead

    columns = (
        "tenant_id, sequence, created_at, actor_type, actor_id, actor_label, action, "
        "target_type, target_id, outcome, request_id, source_ip, user_agent, details, "
        "previous_hash, hash"
    )
    rng = random.Random(20240101)  # noqa: S311 - repeatable test data
    last_hash = ""
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY tenants_auditevent ({columns}) FROM STDIN") as copy:
            for row in generate_events(tenant, count, rng):
                copy.write_row(row)
                last_hash = row[-1]
        cursor.execute("ANALYZE tenants_auditevent")
    AuditChainHead.objects.update_or_create(
        tenant=tenant, defaults={"last_sequence": count, "last_hash": last_hash}
    )


def scenarios(count):
    deep = count // 2
    return {
        "first page": {},
        "page 2 (before=)": {"before": count - 49},
        f"deep page (before={deep})": {"before": deep},
        "last page (before=60)": {"before": 60},
        "action exact (1%)": {"action": "site_key.rejected"},
        "action prefix token. (2%)": {"action": "token."},
        "outcome failure (2%)": {"outcome": "failure"},
        "actor type operator (rare)": {"actor_type": "operator"},
        "actor id site-3 (5%)": {"actor": "site-3"},
        "target id (0.02%)": {"target_id": "target-4242"},
        "one day, 100 days back": {"since": day_ago(100), "until": day_ago(100)},
        "prefix + failure, deep": {"action": "keap.", "outcome": "failure", "before": deep},
    }


def day_ago(days):
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


def event_query(queries):
    selects = [q["sql"] for q in queries if '"tenants_auditevent"' in q["sql"]]
    return selects[0] if selects else ""


def explain(sql):
    """Return (index names used, execution ms) of EXPLAIN ANALYZE for `sql`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
    indexes = set()

    def walk(node):
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return sorted(indexes), plan["Execution Time"]


def measure(client, params, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        client.get("/audit/", params)

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/audit/", params)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET /audit/ {params} returned {response.status_code}.")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/audit/", params)
    sql = event_query(queries.captured_queries)
    indexes, plan_ms = explain(sql) if sql else ([], 0.0)
    timings.sort()
    return {
        "params": params,
        "rows": response.content.count(b"<time datetime="),
        "median_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2),
        "queries": len(queries.captured_queries),
        "indexes": indexes,
        "event_query_ms": round(plan_ms, 2),
    }


def main():
    args = parse_args()
    if not args.reuse:
        recreate_database(args.database_url)
    setup_django(args)

    from django.core.management import call_command
    from django.test import Client

    from tenants.models import Membership

    load_seconds = None
    if args.reuse:
        membership = Membership.objects.select_related("tenant", "user").get()
        tenant, user = membership.tenant, membership.user
    else:
        call_command("migrate", verbosity=0)
        tenant, user = make_owner()
        started = time.perf_counter()
        load_events(tenant, args.events)
        load_seconds = round(time.perf_counter() - started, 1)
        print(f"loaded {args.events} events in {load_seconds} s")

    client = Client()
    client.force_login(user)
    results = {}
    for name, params in scenarios(args.events).items():
        results[name] = measure(client, params, args.requests)

    print(f"\n{'scenario':34} {'rows':>4} {'median ms':>10} {'p95 ms':>8} {'queries':>7}  indexes")
    for name, result in results.items():
        print(
            f"{name:34} {result['rows']:>4} {result['median_ms']:>10} {result['p95_ms']:>8} "
            f"{result['queries']:>7}  {', '.join(result['indexes'])}"
        )

    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "events": args.events,
        "requests_per_scenario": args.requests,
        "load_seconds": load_seconds,
        "cpu_count": os.cpu_count(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "scenarios": results,
    }
    RESULTS_PATH.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {RESULTS_PATH.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
