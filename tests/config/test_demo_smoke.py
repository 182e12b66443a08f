"""The demo path end to end: SQLite, kombu's filesystem transport and a real worker process."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def demo_env(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PORTAL_", "KEAP_", "VAULT_", "CACHE_", "DATABASE_"))
        and key not in ("SECRET_KEY", "ALLOWED_HOSTS", "CELERY_BROKER_URL", "DEBUG")
    }
    env.update({"PORTAL_MODE": "demo", "DEMO_DIR": str(tmp_path / "demo")})
    return env


def manage(env, *args, timeout=120):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def start(env, *command):
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def read_heartbeat(env):
    code = (
        "from django.core.cache import cache; from config.celery import HEARTBEAT_CACHE_KEY; "
        "print(cache.get(HEARTBEAT_CACHE_KEY) or '')"
    )
    return manage(env, "shell", "--verbosity", "0", "-c", code).strip()


def test_it_runs_task_in_worker_on_filesystem_transport(demo_env):
    manage(demo_env, "migrate", "--noinput")
    assert read_heartbeat(demo_env) == ""

    worker = start(
        demo_env,
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
    )
    try:
        manage(demo_env, "shell", "-c", "from config.celery import heartbeat; heartbeat.delay()")

        deadline = time.monotonic() + 60
        heartbeat = ""
        while not heartbeat and time.monotonic() < deadline:
            time.sleep(1)
            heartbeat = read_heartbeat(demo_env)
    finally:
        stop(worker)

    assert heartbeat, "the worker did not run the task within 60 s"
    assert (Path(demo_env["DEMO_DIR"]) / "portal.sqlite3").exists()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_serves_readiness_on_sqlite(demo_env):
    demo_env["DEMO_REDIS_PORT"] = str(free_port())
    manage(demo_env, "migrate", "--noinput")
    port = free_port()
    demo_redis = start(demo_env, sys.executable, "-m", "config.demo_redis")
    web = start(
        demo_env, sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while body is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.5)
    finally:
        stop(web)
        stop(demo_redis)

    assert body is not None, "runserver did not answer /readyz within 60 s"
    assert '"queue": "ok"' in body
    assert '"status": "ok"' in body
