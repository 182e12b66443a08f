"""Real Celery worker and beat processes for job tests, started and stopped by the test.

Each process gets the test's database, Redis, sandbox and vault master keyset through its
environment, and `tests.jobs.worker_settings` as its settings module.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection as db_connection

from config.celery import app as celery_app
from connector.vault import master

REPO = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def worker_environment(keap_control, **overrides):
    """Return the environment of a worker process for the current test.

    `overrides` are extra variables (values are turned into strings), such as
    KEAP_READ_TIMEOUT_SECONDS or JOB_LEASE_SECONDS.
    """
    database = db_connection.settings_dict
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    }
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "tests.jobs.worker_settings",
            "PORTAL_MODE": "test",
            "DATABASE_URL": (
                f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
                f"{database['NAME']}"
            ),
            "CELERY_BROKER_URL": celery_app.conf.broker_url,
            "CACHE_URL": settings.CACHE_URL,
            "RATELIMIT_REDIS_URL": settings.RATELIMIT_REDIS_URL,
            "VAULT_MASTER_KEYSET": master.master_keyset_json(),
            "KEAP_API_BASE_URL": keap_control.api_base_url,
            "KEAP_TOKEN_URL": keap_control.token_url,
            "KEAP_AUTHORIZE_URL": keap_control.authorize_url,
            "KEAP_CLIENT_ID": settings.KEAP_CLIENT_ID or "",
            "KEAP_CLIENT_SECRET": settings.KEAP_CLIENT_SECRET or "",
            "TEST_CELERY_QUEUE": celery_app.conf.task_default_queue,
            "JOB_QUEUE_NAME": settings.JOB_QUEUE_NAME,
            "RATELIMIT_KEY_PREFIX": settings.RATELIMIT_KEY_PREFIX,
            "JOB_PUMP_SECONDS": "5",
            "LOG_LEVEL": "INFO",
            "CELERY_LOG_LEVEL": "INFO",
        }
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


class CeleryProcess:
    """A `celery worker` or `celery beat` process of this test, in its own process group."""

    def __init__(self, name, env, log_dir, *, command):
        self.name = name
        self.env = env
        self.log_path = Path(log_dir) / f"{name}.log"
        self.command = command
        self.process = None

    @classmethod
    def worker(cls, name, env, log_dir, *, concurrency=2, pool="prefork"):
        command = [
            CELERY,
            "-A",
            "config",
            "worker",
            "-Q",
            env["TEST_CELERY_QUEUE"],
            "-P",
            pool,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ]
        return cls(name, env, log_dir, command=command)

    @classmethod
    def beat(cls, env, log_dir):
        schedule = Path(log_dir) / "beat-schedule"
        command = [CELERY, "-A", "config", "beat", "-s", str(schedule), "-l", "INFO"]
        return cls("beat", env, log_dir, command=command)

    @property
    def pid(self):
        return self.process.pid

    def start(self, *, ready_text="ready.", timeout=30):
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while ready_text not in self.log_path.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop(timeout=5)
                raise RuntimeError(f"{self.name} did not start:\n{self.tail()}")
            time.sleep(0.1)
        return self

    def kill(self):
        """SIGKILL the process group: the worker dies without any shutdown step."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout=20):
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._close_log()

    def tail(self, lines=40):
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _close_log(self):
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()


def forget_unacked(broker_url, queue):
    """Delete the broker's records of unacknowledged messages of `queue`.

    A killed worker leaves its messages there, and Redis would put them back on the queue after
    the visibility timeout, long after the test.
    """
    client = redis.Redis.from_url(broker_url, socket_connect_timeout=2)
    try:
        for tag, value in client.hgetall("unacked").items():
            try:
                routing_key = json.loads(value)[2]
            except (ValueError, IndexError, TypeError):
                continue
            if routing_key == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    except redis.RedisError:
        pass


@contextlib.contextmanager
def celery_broker(url):
    """Send this process's Celery tasks to the broker at `url` while the block runs."""
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    # Celery's own reset after a fork: drops the pooled connections to the old broker.
    celery_app._after_fork()
    try:
        yield
    finally:
        celery_app.conf.broker_url = saved
        celery_app._after_fork()
