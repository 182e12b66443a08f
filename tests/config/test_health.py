"""/healthz and /readyz, with a Redis server of the test's own that it stops and restarts."""

import shutil
import socket
import subprocess
import time

import pytest
import redis

pytestmark = pytest.mark.django_db


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server on a free loopback port, so stopping it disturbs no other test."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path, settings):
    server = PrivateRedis(tmp_path)
    server.start()
    settings.CELERY_BROKER_URL = server.url
    yield server
    if server.process.poll() is None:
        server.stop()


def test_it_reports_alive(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_reports_ready_when_everything_answers(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "queue": "ok", "status": "ok"}


def test_it_names_broker_while_redis_is_stopped(client, private_redis):
    assert client.get("/readyz").status_code == 200

    private_redis.stop()
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["broker"] == "unreachable"

    private_redis.start()
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["broker"] == "ok"


def test_it_names_database_when_unreachable(client, settings, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise connection.OperationalError("connection refused")

    # The test database cannot be stopped under a running test run, so this one failure is
    # simulated at the cursor; the broker case above uses a real stopped server.
    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_it_does_not_accept_post(client):
    assert client.post("/healthz").status_code == 405


def test_it_names_queue_while_its_redis_is_stopped(client, tmp_path, settings):
    server = PrivateRedis(tmp_path)
    server.start()
    settings.RATELIMIT_REDIS_URL = server.url
    try:
        assert client.get("/readyz").json()["queue"] == "ok"

        server.stop()
        response = client.get("/readyz")
    finally:
        if server.process.poll() is None:
            server.stop()

    assert response.status_code == 503
    assert response.json()["failing"] == ["queue"]
