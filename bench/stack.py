"""The processes a benchmark runs against, all on 127.0.0.1, and what it reads from them.

- PostgreSQL: a database of the run's own, copied for each scenario from a template that is
  migrated once per run, on the server in --database-url.
- Redis: the broker, the cache, the rate limiter and the fair queue, in the dbs given on the
  command line, under names of the run's own, deleted at the end.
- The Keap sandbox (`manage.py run_keap_sandbox`), gunicorn serving the portal, and Celery
  worker processes, each in its own process group and logging to var/bench-logs/. No beat
  runs: no scenario loses a job, so none needs the sweeper, and the refresh scenario sends
  its token sweep task itself.

Every process gets PORTAL_MODE=test settings (bench/settings.py) and the same vault master
keyset, which the harness generates for the run.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOG_DIR = BASE_DIR / "var" / "bench-logs"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Databases -------------------------------------------------------------------------------


def _database_name(url):
    name = urlsplit(url).path.lstrip("/")
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"Invalid database name {name!r}: use letters, digits and underscores.")
    return name


def _admin_url(url):
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def recreate_database(url, template=None):
    """Drop and create the database of `url`, empty or as a copy of database `template`."""
    import psycopg

    name = _database_name(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url):
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{_database_name(url)}" WITH (FORCE)')


def with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


# --- /proc -----------------------------------------------------------------------------------


def process_tree(pid):
    """Return `pid` and the ids of all its living descendants."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def cpu_seconds(pid):
    """Return the CPU time (user + system) in seconds used so far by `pid`'s process tree,
    including children that already exited and were waited for."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # Fields 14-17 of proc(5) are utime, stime, cutime and cstime. [0] here is field 3.
        total += sum(int(value) for value in fields[11:15])
    return total / CLOCK_TICKS


def rss_bytes(pid):
    """Return the resident set size of one process, from /proc/<pid>/status (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


# --- Processes -------------------------------------------------------------------------------


class Process:
    """A child process in its own process group, logging to LOG_DIR/<name>.log."""

    def __init__(self, name, command, env):
        self.name = name
        self.command = command
        self.env = env
        self.log_path = LOG_DIR / f"{name}.log"
        self.process = None
        self._log = None

    @property
    def pid(self):
        return self.process.pid

    def start(self, ready, timeout=60):
        """Start the process and wait until `ready()` returns true."""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; see {self.log_path}")
            time.sleep(0.1)
        return self

    def log_text(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout=20):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None


def _answers(url):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


class Stack:
    """The processes of one scenario; `stop()` ends them all."""

    def __init__(self, env, scenario):
        self.env = dict(env)
        self.scenario = scenario
        self.processes = []
        self.sandbox_url = None
        self.web_url = None

    def _add(self, process, ready, timeout=60):
        self.processes.append(process)
        return process.start(ready, timeout)

    def sandbox(self):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            str(BIN / "python"),
            "manage.py",
            "run_keap_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        process = self._add(
            Process(f"{self.scenario}-sandbox", command, self.env),
            lambda: _answers(f"{url}/_sandbox/"),
        )
        self.sandbox_url = url
        self.env.update(
            {
                "KEAP_API_BASE_URL": f"{url}/crm/rest",
                "KEAP_TOKEN_URL": f"{url}/token",
                "KEAP_AUTHORIZE_URL": f"{url}/app/oauth/authorize",
            }
        )
        return process

    def web(self, *, threads=8):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            str(threads),
            "--graceful-timeout",
            "5",
            "--error-logfile",
            "-",
        ]
        process = self._add(
            Process(f"{self.scenario}-web", command, self.env), lambda: _answers(f"{url}/healthz")
        )
        self.web_url = url
        return process

    def worker(self, name, *, concurrency=1, pool="prefork", env=None):
        process_env = {**self.env, **(env or {})}
        command = [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            process_env["BENCH_CELERY_QUEUE"],
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-n",
            f"{name}-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        process = Process(f"{self.scenario}-{name}", command, process_env)
        return self._add(process, lambda: self._worker_ready(process))

    @staticmethod
    def _worker_ready(process):
        return "ready." in process.log_text()

    def stop(self):
        for process in reversed(self.processes):
            process.stop()
        self.processes = []
