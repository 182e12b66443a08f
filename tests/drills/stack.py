"""The parts a drill starts and reads: a web process, a PostgreSQL server of its own, a steady
stream of client API requests, and the job rows and logs it checks at the end.

Everything listens on 127.0.0.1, and every process is started in its own process group so a
drill can stop it, with its children, whatever state it is in.
"""

import collections
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from tests.config.test_health import free_port
from tests.jobs.workers import REPO

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
FINISHED = ("succeeded", "failed", "cancelled", "outcome_unknown")


# --- Web process -----------------------------------------------------------------------------


class WebProcess:
    """A gunicorn process serving the portal (one worker, threaded) on a free loopback port."""

    def __init__(self, env, log_dir, *, threads=8):
        self.env = env
        self.port = free_port()
        self.log_path = Path(log_dir) / "web.log"
        self.threads = threads
        self.process = None
        self._log = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        command = [
            GUNICORN,
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--threads",
            str(self.threads),
            "--graceful-timeout",
            "5",
            "--access-logfile",
            "-",
            "--error-logfile",
            "-",
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"web process did not start:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def _answers(self):
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self, timeout=15):
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

    def tail(self, lines=40):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# --- PostgreSQL server of the drill ----------------------------------------------------------


def postgres_bin_dir():
    """Return the bin folder of the newest PostgreSQL installed from Debian's packages."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name)
    )
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql/.")
    return Path(found[-1])


class PrivatePostgres:
    """A PostgreSQL server in a temporary folder on a free loopback port, which a drill stops
    and starts.

    PostgreSQL refuses to run as root, so as root every server command runs as the `postgres`
    OS user, and the folder is created outside pytest's private temporary folder, in a place
    that user can write.
    """

    def __init__(self):
        self.bin = postgres_bin_dir()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="portal-drill-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "server.log"
        self.is_running = False

    def url(self, database):
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def _run(self, *command, timeout=60):
        command = [str(part) for part in command]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self):
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres", group="postgres")
        self._run(
            self.bin / "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        return self

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run(
            self.bin / "pg_ctl", "-D", self.data, "-l", self.log_path, "-o", options, "-w", "start"
        )
        self.is_running = True

    def stop(self, mode="fast"):
        """Stop the server; `fast` disconnects every client and rolls back open transactions."""
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        self.is_running = False

    def remove(self):
        if self.is_running:
            self.stop(mode="immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def copy_database(self, source, name):
        """Create database `name` here as a copy (schema and rows) of the Django database whose
        settings_dict is `source`."""
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        dump = subprocess.run(
            [
                str(self.bin / "pg_dump"),
                "-h",
                source["HOST"] or "127.0.0.1",
                "-p",
                str(source["PORT"] or 5432),
                "-U",
                source["USER"] or "postgres",
                "--format=custom",
                "--no-owner",
                source["NAME"],
            ],
            check=True,
            capture_output=True,
            timeout=120,
        ).stdout
        subprocess.run(
            [
                str(self.bin / "pg_restore"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "--no-owner",
                "-d",
                name,
            ],
            input=dump,
            check=True,
            capture_output=True,
            timeout=120,
        )


def django_dsn(settings_dict):
    """Return a libpq connection string for a Django database's settings_dict."""
    return (
        f"host={settings_dict['HOST'] or '127.0.0.1'} port={settings_dict['PORT'] or 5432} "
        f"user={settings_dict['USER'] or 'postgres'} dbname={settings_dict['NAME']}"
    )


# --- Client traffic --------------------------------------------------------------------------


@dataclass
class Traffic:
    """Contact upserts sent to the client API from a thread: `count` requests at
    `per_second`, one at a time, each with a new email address.

    `accepted` maps each email whose request got 202 to its job's id; `rejected` lists
    (email, HTTP status or the exception's name) of the others.
    """

    base_url: str
    site_key: str
    count: int
    per_second: float
    prefix: str = "drill"
    accepted: dict = field(default_factory=dict)
    rejected: list = field(default_factory=list)
    sent: int = 0

    def start(self):
        self._thread = threading.Thread(target=self._send_all, name="drill-traffic", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout=120):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"traffic still sending after {timeout}s"
        return self

    def wait_for_sent(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while self.sent < count:
            assert time.monotonic() < deadline, f"only {self.sent} of {count} requests sent"
            time.sleep(0.05)

    def _send_all(self):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.site_key}"
        started = time.monotonic()
        for number in range(self.count):
            pause = started + number / self.per_second - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self._send(session, f"{self.prefix}{number}@example.com")
            self.sent += 1
        session.close()

    def _send(self, session, email):
        try:
            response = session.post(
                f"{self.base_url}/api/v1/contacts:upsert", json={"email": email}, timeout=10
            )
        except requests.RequestException as exc:
            self.rejected.append((email, type(exc).__name__))
            return
        if response.status_code == 202:
            self.accepted[email] = response.json()["id"]
        else:
            self.rejected.append((email, response.status_code))


# --- Reading the outcome ---------------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    public_id: str
    status: str
    error_code: str
    error: str
    attempts: int
    outcomes: tuple


def read_jobs(dsn, public_ids):
    """Return {public id: JobRow} of the given jobs, with their attempts' outcomes in order."""
    ids = [str(public_id) for public_id in public_ids]
    with psycopg.connect(dsn, connect_timeout=5) as connection:
        rows = connection.execute(
            "SELECT public_id::text, status, error_code, error, attempts, id "
            "FROM connector_job WHERE public_id::text = ANY(%s)",
            [ids],
        ).fetchall()
        outcomes = collections.defaultdict(list)
        for job_pk, outcome in connection.execute(
            "SELECT job_id, outcome FROM connector_jobattempt WHERE job_id = ANY(%s) "
            "ORDER BY job_id, number",
            [[row[5] for row in rows]],
        ):
            outcomes[job_pk].append(outcome)
    return {
        row[0]: JobRow(row[0], row[1], row[2], row[3], row[4], tuple(outcomes[row[5]]))
        for row in rows
    }


def count_unfinished(dsn):
    """Return how many jobs in the whole database are not finished."""
    with psycopg.connect(dsn, connect_timeout=5) as connection:
        return connection.execute(
            "SELECT count(*) FROM connector_job WHERE NOT status = ANY(%s)", [list(FINISHED)]
        ).fetchone()[0]


def wait_until_finished(dsn, public_ids, *, timeout, describe=lambda: ""):
    """Wait until every given job is finished; return their JobRows. Fails after `timeout`
    seconds with the status counts and `describe()` (process logs)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = read_jobs(dsn, public_ids)
        if len(rows) == len(public_ids) and all(row.status in FINISHED for row in rows.values()):
            return rows
        if time.monotonic() > deadline:
            counts = collections.Counter(row.status for row in rows.values())
            raise AssertionError(
                f"{len(public_ids)} jobs accepted, {len(rows)} found, still unfinished after "
                f"{timeout}s: {dict(counts)}\n{describe()}"
            )
        time.sleep(0.3)


def emails_in_sandbox(keap, app_name="ab123"):
    """Return a Counter of the contact email addresses stored in the sandbox account."""
    return collections.Counter(
        entry["email"].lower()
        for contact in keap.control.contacts(app_name)
        for entry in contact["email_addresses"]
    )


def upserts_answered(keap, status=200):
    """Return how many `PUT /v1/contacts` requests the sandbox responded to with `status`."""
    return sum(
        1
        for entry in keap.control.request_log(path_prefix="/crm/rest/v1/contacts")
        if entry["method"] == "PUT" and entry["status"] == status
    )


def read_logs(log_dir):
    """Return the bytes of every process log the drill wrote in `log_dir`."""
    return b"\n".join(path.read_bytes() for path in sorted(Path(log_dir).glob("*.log")))
