"""Benchmarks of the job pipeline: overhead, throughput, quota use, fairness, the token refresh
sweep, audit writes and worker memory.

Starts its own processes on 127.0.0.1 (the Keap sandbox, gunicorn, Celery workers) against a
PostgreSQL database of its own, runs the named scenarios (all by default), prints a table,
writes bench/results/<scenario>.json and regenerates docs/benchmarks.md from every result file.

    .venv/bin/python bench/run.py                      # every scenario, default sizes
    .venv/bin/python bench/run.py overhead --calls 200 # one scenario, smaller

The databases (--database-url and a template beside it) are dropped and recreated, and dropped
again at the end. Redis keys are named after the run and deleted at the end.
"""

import argparse
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import calls, harness, limits, report, sweeps  # noqa: E402

RESULTS_DIR = BASE_DIR / "bench" / "results"
# Options that name servers, not sizes; the rest are recorded with each result.
SERVER_OPTIONS = ("database_url", "cache_url", "broker_url", "label")
SCENARIOS = ["overhead", "throughput", "quota", "fairness", "refresh", "audit", "memory"]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", help=f"Scenarios to run: {', '.join(SCENARIOS)}; default all."
    )
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/portal_bench_jobs",
        help="PostgreSQL URL of the run's own database; dropped and recreated.",
    )
    parser.add_argument(
        "--cache-url",
        default="redis://127.0.0.1:6379/14",
        help="Redis URL for the cache, the rate limiter and the fair queue.",
    )
    parser.add_argument(
        "--broker-url", default="redis://127.0.0.1:6379/15", help="Celery broker URL."
    )
    parser.add_argument(
        "--label",
        default="",
        help="Write bench/results/<scenario>-<label>.json instead of <scenario>.json, for a run "
        "at other sizes that the summary page shows beside the default one.",
    )
    sizes = parser.add_argument_group("sizes")
    sizes.add_argument("--calls", type=int, default=1000, help="Overhead: pairs at 0 ms.")
    sizes.add_argument(
        "--latency-calls", type=int, default=60, help="Overhead: pairs at 200 ms latency."
    )
    sizes.add_argument("--jobs", type=int, default=500, help="Throughput: jobs per run.")
    sizes.add_argument(
        "--workers", default="1,2,4", help="Throughput: worker process counts, comma-separated."
    )
    sizes.add_argument("--upserts", type=int, default=2000, help="Quota: contact upserts.")
    sizes.add_argument(
        "--time-factor",
        type=int,
        default=5,
        help="Quota: how many times faster than Keap's windows time runs.",
    )
    sizes.add_argument("--backlog", type=int, default=2000, help="Fairness: queued jobs.")
    sizes.add_argument(
        "--fairness-seconds", type=int, default=30, help="Fairness: seconds of trickle traffic."
    )
    sizes.add_argument(
        "--connections", type=int, default=400, help="Refresh: OAuth connections (largest layout)."
    )
    sizes.add_argument(
        "--audit-seconds", type=int, default=5, help="Audit: seconds of writing per mode."
    )
    sizes.add_argument(
        "--memory-jobs", type=int, default=2000, help="Memory: jobs in total (first 1,000)."
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"invalid scenario {unknown[0]!r}: use one of {', '.join(SCENARIOS)}")
    if args.label and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", args.label):
        parser.error(f"invalid --label {args.label!r}: use lower-case letters, digits and hyphens")
    args.scenarios = args.scenarios or SCENARIOS
    return args


def run_scenario(name, run, args):
    if name == "overhead":
        return calls.overhead(run, calls=args.calls, latency_calls=args.latency_calls)
    if name == "throughput":
        counts = tuple(int(count) for count in args.workers.split(","))
        return calls.throughput(run, jobs=args.jobs, worker_counts=counts)
    if name == "quota":
        return limits.quota(run, upserts=args.upserts, factor=args.time_factor)
    if name == "fairness":
        return limits.fairness(run, backlog=args.backlog, seconds=args.fairness_seconds)
    if name == "refresh":
        return sweeps.refresh(run, connections=args.connections)
    if name == "audit":
        return sweeps.audit(run, seconds=args.audit_seconds)
    return calls.memory(run, total=args.memory_jobs)


def machine():
    """Describe this machine and the servers the run used."""
    import redis
    from django.db import connection

    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    from django.conf import settings

    redis_version = redis.Redis.from_url(settings.CACHE_URL).info("server")["redis_version"]
    return {
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout),
        "memory_gib": round(memory_kib / 2**20, 1),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "postgresql": postgres,
        "redis": redis_version,
        "kernel": platform.release(),
    }


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    run = harness.Run(args.database_url, args.cache_url, args.broker_url)
    harness.setup_django(run)
    command = "python bench/run.py " + " ".join(shlex.quote(part) for part in argv)
    sizes = {key: value for key, value in vars(args).items() if key not in SERVER_OPTIONS}
    del sizes["scenarios"]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    about = machine()

    documents = {}
    try:
        for name in args.scenarios:
            print(f"\n== {name}")
            started = time.monotonic()
            result = run_scenario(name, run, args)
            documents[name] = {
                "scenario": name,
                "command": command.strip(),
                "sizes": sizes,
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "duration_seconds": round(time.monotonic() - started, 1),
                "machine": about,
                "result": result,
            }
            if args.label:
                documents[name]["label"] = args.label
            path = RESULTS_DIR / (f"{name}-{args.label}.json" if args.label else f"{name}.json")
            path.write_text(json.dumps(documents[name], indent=2, default=str) + "\n")
            print(f"wrote {path.relative_to(BASE_DIR)} ({documents[name]['duration_seconds']} s)")
    finally:
        harness.cleanup(run)

    print()
    print(report.table(documents))
    written = report.write_page(RESULTS_DIR)
    print(f"\nwrote {written.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.exit(main())
