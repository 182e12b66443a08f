"""The printed table and docs/benchmarks.md, both made only from bench/results/*.json.

The page's prose is fixed text: how each scenario measures, and bench/notes.md for what the
figures mean. Every number on the page is read from a result file, with the command that wrote
it.
"""

import json
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PAGE = BASE_DIR / "docs" / "benchmarks.md"
NOTES = BASE_DIR / "bench" / "notes.md"
ORDER = ["overhead", "throughput", "quota", "fairness", "refresh", "audit", "memory"]

METHODS = {
    "overhead": (
        "Keap's `GET /v1/account/profile` on one PAT, read directly from the sandbox and "
        "through the portal (`POST /api/v1/requests`, then `GET /api/v1/jobs/{id}?wait=10` "
        "until it succeeded), as pairs: the two calls of a pair run one after the other, and "
        "which goes first alternates. One gunicorn process (8 threads) and one Celery worker "
        "process (prefork, concurrency 1); the rate limiter is on, with the PAT's limits "
        "raised so that it never waits. Times are measured in the harness around each HTTP "
        "exchange, and the difference is taken per pair. `job created to finished` is the "
        "job's own `finished_at - created_at`, without the client's requests and the wait's "
        "polling. The first phase adds no latency; the "
        "second makes the sandbox hold every answer for 200 ms (a latency fault)."
    ),
    "throughput": (
        "Contact upserts sent through the client API from 8 client threads, one new email "
        "each, with the rate limiter off and the sandbox's quotas not enforced. Jobs per "
        "second are all jobs divided by the time from the first request to the last job "
        "finished, for each number of worker processes (one prefork worker with that "
        "concurrency). CPU time per job is the change in utime + stime in /proc/<pid>/stat of "
        "the process tree (living processes and reaped children) of the web server, the "
        "worker and the sandbox, divided by the jobs."
    ),
    "quota": (
        "Contact upserts on one PAT, sent as batch jobs of 1,000 rows through "
        "`POST /api/v1/contacts:batchUpsert`, with the sandbox enforcing Keap's PAT limits "
        "(10 a second, 240 a minute, 30,000 a day) and 4 worker processes. Time runs faster "
        "by the stated factor: the sandbox's limits are multiplied by it and the limiter's "
        "periods divided by it (`RATELIMIT_TIME_SCALE`). The ratio is the shortest span "
        "Keap's rolling windows allow for the answered requests divided by the span the "
        "sandbox logged from the first to the last answer; 1.0 would use the whole quota."
    ),
    "fairness": (
        "Ten tenants, each connected by OAuth to its own sandbox account through one OAuth "
        "client, with Keap's real limits enforced by the sandbox (1,500 a minute for the "
        "client) and 4 worker processes. One tenant has the backlog queued with `create_job` "
        "before the workers start; the nine others send profile reads through the client API "
        "as Poisson arrivals of one a second each. Wait is `started_at - created_at` of the "
        "trickle jobs. Jain's index is computed per window: a tenant's demand is its jobs "
        "waiting at some moment of the window, its service the jobs started in it, and "
        "x = service / max-min fair share of the window's total service (water-filling over "
        "the demands); the index (Σx)² / (n·Σx²) is taken over the tenants with demand. The "
        "figure is the mean over the windows of the trickle period."
    ),
    "refresh": (
        "OAuth connections whose access tokens expire within the 30-minute margin, each with "
        "tokens the sandbox issued through the authorization code flow, stored directly with "
        "the vault (no userinfo check). One `refresh_due_tokens` task queues a refresh task "
        "per connection; 4 worker processes run them. Queries are counted in the worker with "
        "`connection.execute_wrapper` per task (bench/query_counter.py). Three layouts: the "
        "connections spread over 10 tenants, one tenant per connection, and a quarter as many "
        "connections with one tenant each. The target compares the last two, which differ "
        "only in the number of tenants."
    ),
    "audit": (
        "Audit events written with `tenants.audit.record_event` (one transaction each, which "
        "locks the tenant's chain head) by separate processes for a fixed time: one tenant "
        "with one writer, eight tenants with one writer each, and one tenant with eight "
        "writers. `audit_verify` checks every chain afterwards. The log page's figures come "
        "from bench/results/audit_page.json, written by bench/audit_page.py."
    ),
    "memory": (
        "Upsert jobs created with `create_job` (as the API does) and run by one worker "
        "process (solo pool, so one process runs every task), with the rate limiter on and "
        "the PAT's limits raised. Resident memory is VmRSS from /proc/<pid>/status, read when "
        "the first 1,000 jobs have finished (before the rest are created) and when all have."
    ),
}


def load(results_dir):
    documents = {}
    for name in ORDER:
        path = Path(results_dir) / f"{name}.json"
        if path.exists():
            documents[name] = json.loads(path.read_text())
    return documents


def load_labelled(results_dir, name):
    """Return [(label, document)] of the scenario's runs written with `--label`, by label."""
    runs = []
    for path in sorted(Path(results_dir).glob(f"{name}-*.json")):
        label = path.stem.removeprefix(f"{name}-")
        runs.append((label, json.loads(path.read_text())))
    return runs


def figures(name, result):
    """Return [(figure, value)] rows for one scenario's result."""
    rows = []
    if name == "overhead":
        for label, phase in result["phases"].items():
            for part in ("direct", "through_portal", "difference", "job_created_to_finished"):
                summary = phase[part]
                rows.append(
                    (
                        f"{label} latency, {part.replace('_', ' ')} ({phase['calls']} pairs)",
                        f"median {summary['median_ms']} ms, p99 {summary['p99_ms']} ms, "
                        f"max {summary['max_ms']} ms",
                    )
                )
    elif name == "throughput":
        for count, run in result["by_worker_processes"].items():
            cpu = run["cpu_ms_per_job"]
            rows.append(
                (
                    f"{count} worker process(es), {run['jobs']} jobs",
                    f"{run['jobs_per_second']} jobs/s ({run['succeeded']} succeeded); API "
                    f"accepted {run['api_accepts_per_second']}/s; CPU per job: web "
                    f"{cpu['web']} ms, worker {cpu['worker']} ms, sandbox {cpu['sandbox']} ms",
                )
            )
    elif name == "quota":
        rows += [
            (
                "upserts answered 200 / rows done",
                f"{result['answered_200']} / {result['rows_done']}",
            ),
            ("time factor", f"{result['time_factor']}×"),
            (
                "achieved rate / quota rate",
                f"{result['achieved_per_second']}/s of {result['quota_per_second']}/s",
            ),
            (
                "span / shortest span",
                f"{result['span_seconds']} s / {result['shortest_span_seconds']} s",
            ),
            ("quota use (ratio)", f"{result['ratio']}"),
            ("429 answers", f"{result['answered_429']}"),
        ]
    elif name == "fairness":
        rows += [
            (
                "backlog / queued in",
                f"{result['backlog']} jobs / {result['backlog_queue_seconds']} s",
            ),
            (
                "trickle jobs / backlog jobs run",
                f"{result['trickle_jobs']} / {result['backlog_jobs_done']} "
                f"in {result['seconds']} s",
            ),
            (
                f"Jain's index ({result['windows']} windows of {result['window_seconds']} s)",
                f"mean {result['jain_mean']}, p5 {result['jain_p5']}, min {result['jain_min']}",
            ),
            (
                "trickle wait",
                f"p50 {result['trickle_wait_p50_s']} s, p95 {result['trickle_wait_p95_s']} s, "
                f"max {result['trickle_wait_max_s']} s",
            ),
            ("429 answers", f"{result['answered_429']}"),
        ]
    elif name == "refresh":
        for layout in result["layouts"].values():
            rows.append(
                (
                    f"{layout['connections']} connections over {layout['tenants']} tenants",
                    f"{layout['seconds']} s, {layout['refreshes_per_second']} refreshes/s, "
                    f"{layout['queries_per_refresh']} queries per refresh "
                    f"({layout['refresh_tasks']} tasks), worker CPU "
                    f"{layout['worker_cpu_ms_per_refresh']} ms per refresh",
                )
            )
    elif name == "audit":
        for label, mode in result["modes"].items():
            rows.append(
                (
                    label,
                    f"{mode['events_per_second']} events/s "
                    f"({mode['events']} in {mode['seconds']} s)",
                )
            )
        page = result.get("log_page")
        if page:
            first = page["first_page"]
            rows.append(
                (
                    f"audit log page, {page['events']:,} events (bench/audit_page.py, "
                    f"{page['measured_at']})",
                    f"first page median {first['median_ms']} ms, p95 {first['p95_ms']} ms; "
                    f"slowest filter median {page['slowest_median_ms']} ms",
                )
            )
    elif name == "memory":
        for label, mib in result["rss_mib"].items():
            rows.append((f"worker RSS {label}", f"{mib} MiB"))
        rows.append(("jobs succeeded / time", f"{result['succeeded']} / {result['seconds']} s"))
    return rows


# The size options each scenario reads.
SIZE_OPTIONS = {
    "overhead": ("calls", "latency_calls"),
    "throughput": ("jobs", "workers"),
    "quota": ("upserts", "time_factor"),
    "fairness": ("backlog", "fairness_seconds"),
    "refresh": ("connections",),
    "audit": ("audit_seconds",),
    "memory": ("memory_jobs",),
}


def sizes(name, document):
    """Return [(option, value)] of the sizes the scenario ran with."""
    recorded = document.get("sizes", {})
    return [(key, recorded[key]) for key in SIZE_OPTIONS[name] if key in recorded]


def table(documents):
    """Return a plain-text table of every figure of `documents`."""
    lines = []
    for name in ORDER:
        if name not in documents:
            continue
        lines.append(f"{name}")
        for figure, value in figures(name, documents[name]["result"]):
            lines.append(f"  {figure:58} {value}")
        for target in documents[name]["result"]["targets"]:
            verdict = "met" if target["met"] else "MISSED"
            lines.append(
                f"  target {target['name']}: {target['value']} ({target['target']}) {verdict}"
            )
    return "\n".join(lines)


def _run_section(name, document):
    options = ", ".join(
        f"`--{key.replace('_', '-')} {value}`" for key, value in sizes(name, document)
    )
    lines = [
        f"Command: `{document['command']}` ({document['measured_at']}, "
        f"{document['duration_seconds']} s)" + (f", with the sizes {options}." if options else "."),
        "",
        "| Figure | Value |",
        "|---|---|",
    ]
    for figure, value in figures(name, document["result"]):
        lines.append(f"| {figure} | {value} |")
    lines.append("")
    return lines


def write_page(results_dir):
    """Write docs/benchmarks.md from the result files in `results_dir`; return its path."""
    documents = load(results_dir)
    lines = [
        "# Benchmarks",
        "",
        "What the portal adds to a Keap call in time and quota, and how it holds up, measured "
        "with the job pipeline, PostgreSQL, Redis and the Keap sandbox on one machine. Every "
        "figure below is read from `bench/results/<scenario>.json`, written by the command "
        "shown with it. The sandbox stands in for Keap, so the figures show the portal's own "
        "cost, not Keap's speed.",
        "",
        "## Running them",
        "",
        "```sh",
        "make bench                                  # every scenario at its default size",
        ".venv/bin/python bench/run.py overhead --calls 200   # one scenario, another size",
        ".venv/bin/python bench/run.py memory --memory-jobs 20000 --label full  # kept apart",
        ".venv/bin/python bench/run.py --help        # every size option",
        "```",
        "",
        "A run with `--label NAME` writes `bench/results/<scenario>-NAME.json` and leaves the "
        "default result in place; this page shows it under the default one, and its targets "
        "in the table with the label.",
        "",
        "`bench/run.py` needs PostgreSQL and Redis on 127.0.0.1 (the test servers). It "
        "creates the database `portal_bench_jobs` and a migrated template beside it, copies "
        "the template for each scenario and drops both at the end. Redis dbs 14 (cache, rate "
        "limiter, fair queue) and 15 (Celery broker) are used under key names of the run, "
        "which are deleted at the end. It starts, for each scenario, the Keap sandbox "
        "(`manage.py run_keap_sandbox`), gunicorn serving the portal (one process, 8 "
        "threads) and Celery workers, all with `PORTAL_MODE=test` settings "
        "(`bench/settings.py`) and logging to `var/bench-logs/`. The default sizes took 7 "
        "minutes on the machine below (`time make bench`).",
        "",
    ]
    if documents:
        about = next(iter(documents.values()))["machine"]
        lines += [
            "## Machine",
            "",
            "| | |",
            "|---|---|",
            f"| CPUs (`nproc`) | {about['nproc']} |",
            f"| CPU model | {about['cpu_model']} |",
            f"| Memory | {about['memory_gib']} GiB |",
            f"| Python | {about['python']} |",
            f"| PostgreSQL | {about['postgresql']} |",
            f"| Redis | {about['redis']} |",
            f"| Linux | {about['kernel']} |",
            "",
            "Every process of a run (harness, sandbox, web, workers, PostgreSQL, Redis) shares "
            "these CPUs, and other work ran on the machine at the same time, so the figures are "
            "those of a small, busy host.",
            "",
            "## Targets",
            "",
            "| Target | Figure | Goal | Met |",
            "|---|---|---|---|",
        ]
        for name in ORDER:
            runs = [("", documents[name])] if name in documents else []
            for label, document in [*runs, *load_labelled(results_dir, name)]:
                suffix = f" (`--label {label}`)" if label else ""
                for target in document["result"].get("targets", []):
                    verdict = "yes" if target["met"] else "**no**"
                    lines.append(
                        f"| {target['name']}{suffix} | {target['value']} | {target['target']} "
                        f"| {verdict} |"
                    )
        lines.append("")

    for name in ORDER:
        if name not in documents:
            lines += [f"## {name.capitalize()}", "", "Not measured yet.", ""]
            continue
        lines += [f"## {name.capitalize()}", "", METHODS[name], ""]
        lines += _run_section(name, documents[name])
        for label, document in load_labelled(results_dir, name):
            lines += [f"### Run `--label {label}`", ""]
            lines += _run_section(name, document)

    if NOTES.exists():
        lines += ["## Reading the figures", "", NOTES.read_text().strip(), ""]

    PAGE.write_text("\n".join(lines))
    return PAGE
