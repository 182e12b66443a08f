"""Fixtures for the fault drills: the broker (Redis or RabbitMQ), the processes of one drill,
and a PAT connection and a site key whose secrets are the canaries of tests/canaries.py.

A drill runs the portal as production does: a gunicorn web process, Celery worker and beat
processes, PostgreSQL, Redis and the Keap sandbox, all on 127.0.0.1. It sends client API
requests, injects one fault, and then checks that every accepted job finished, that no Keap
effect happened twice, and that no secret reached any process's output.
"""

import os
import threading
from types import SimpleNamespace

import kombu
import pytest
from django.db import connection as db_connection

from config.celery import app as celery_app
from connector import actions, sites
from connector.actor import SYSTEM
from connector.keyformats import SITE_KEY_PREFIX
from connector.models import Connection
from connector.site_models import SiteKey
from tests import canaries
from tests.connector.conftest import keap  # noqa: F401 - the sandbox account fixture
from tests.connector.site_factories import make_site
from tests.drills import stack
from tests.jobs.conftest import isolated_names  # noqa: F401 - autouse: names of the test's own
from tests.jobs.workers import CeleryProcess, forget_unacked, worker_environment

# RabbitMQ's default account on a virtual host of the drills' own; .ci/run creates it.
RABBITMQ_URL = os.environ.get(
    "DRILLS_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/portal_drills"
)

# The limiter's PAT limits are raised so that Keap's 10 requests a second do not pace the
# drills. Quota behaviour has tests and benchmarks of its own.
DRILL_LIMITS = "key_per_second=1000,key_per_minute=100000"


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request, isolated_names):  # noqa: F811 - the imported fixture
    """The Celery broker of the drill's processes: `.kind` ("redis" or "rabbitmq") and `.url`.

    The test's Celery queue (and for RabbitMQ its exchange) is deleted from it afterwards.
    """
    queue = celery_app.conf.task_default_queue
    if request.param == "redis":
        url = celery_app.conf.broker_url
        yield SimpleNamespace(kind="redis", url=url)
        forget_unacked(url, queue)
        return

    try:
        with kombu.Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means the broker is not usable
        pytest.fail(
            f"RabbitMQ at {RABBITMQ_URL.rsplit('@', 1)[-1]} is not reachable ({exc}). Start it "
            "with `rabbitmq-server -detached`, create the virtual host with `rabbitmqctl "
            "add_vhost portal_drills` and `rabbitmqctl set_permissions -p portal_drills guest "
            '".*" ".*" ".*"`, or set DRILLS_RABBITMQ_URL.'
        )
    yield SimpleNamespace(kind="rabbitmq", url=RABBITMQ_URL)
    with kombu.Connection(RABBITMQ_URL, connect_timeout=3) as connection:
        connection.default_channel.queue_delete(queue)
        # Celery declares a direct exchange of the queue's name beside it.
        connection.default_channel.exchange_delete(queue)


@pytest.fixture
def drill(transactional_db, isolated_names, tmp_path):  # noqa: F811
    """Starts the drill's processes (`drill.web(env)`, `drill.worker(name, env, ...)`,
    `drill.beat(env)`), each logging to a file in `drill.log_dir`; stops them all afterwards.

    `drill.supervise(process)` restarts the process whenever it exits, as the deployment's
    `restart: unless-stopped` (docker-compose.yml) does, and records each exit in
    `drill.restarts`.
    """
    started = []
    stopping = threading.Event()

    class Drill:
        log_dir = tmp_path
        restarts = []

        def supervise(self, process):
            def watch():
                while not stopping.wait(0.5):
                    code = process.process.poll()
                    if code is None:
                        continue
                    self.restarts.append((process.name, code))
                    process.start()

            threading.Thread(target=watch, name=f"supervise-{process.name}", daemon=True).start()

        def web(self, env):
            process = stack.WebProcess(env, tmp_path).start()
            started.append(process)
            return process

        def worker(self, name, env, **options):
            process = CeleryProcess.worker(name, env, tmp_path, **options)
            started.append(process)
            return process.start()

        def beat(self, env):
            process = CeleryProcess.beat(env, tmp_path)
            started.append(process)
            return process.start(ready_text="beat: Starting")

        def tails(self):
            return "\n\n".join(
                f"== {getattr(process, 'name', 'web')}\n{process.tail()}" for process in started
            )

    yield Drill()
    stopping.set()
    for process in reversed(started):
        process.stop()


@pytest.fixture
def canary_pat(keap, tenant):  # noqa: F811
    """(connection, sandbox key id) of an active PAT connection whose key is CANARY_PAT.

    The sandbox issues random keys, so the test sets the issued key's value to the canary in
    the sandbox's state (it runs in this process). The sandbox's limits are counted but not
    enforced.
    """
    keap.control.set_limits(enforced=False)
    issued = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])
    state = keap.control.server.state
    with state.lock:
        state.api_keys[issued["key_id"]].key = canaries.CANARY_PAT

    credential = actions.do_add_pending_api_key(
        tenant, method="pat", key=canaries.CANARY_PAT, actor=SYSTEM
    )
    result = actions.do_verify_pending_credential(credential.pk)
    result = result or actions.wait_for_verification(credential, timeout=0)
    assert result["outcome"] == "created", result
    connection = Connection.objects.select_related("tenant").get(pk=credential.connection_id)
    return connection, issued["key_id"]


@pytest.fixture
def canary_site(tenant, canary_pat):
    """A client site with the scope contacts:write on the canary PAT connection.

    `raw_key` is a site key whose secret part is CANARY_SITE_KEY_SECRET; `other_key` is the
    site's first, random key, which is searched for too.
    """
    connection, _ = canary_pat
    created = make_site(
        tenant, connection=connection, scopes=["contacts:write"], requests_per_minute=60_000
    )
    lookup_id = sites.generate_key()[1]
    raw_key = f"{SITE_KEY_PREFIX}{lookup_id}_{canaries.CANARY_SITE_KEY_SECRET}"
    SiteKey.objects.create(
        tenant=tenant,
        site=created.site,
        lookup_id=lookup_id,
        digest=sites.key_digest(raw_key),
        hint=raw_key[-4:],
    )
    return SimpleNamespace(site=created.site, raw_key=raw_key, other_key=created.raw_key)


def drill_environment(keap, broker_url, **overrides):  # noqa: F811
    """Return the environment of the drill's web, worker and beat processes, whose settings
    module is tests.drills.process_settings.

    Leases of 4 seconds and a sweeper every second let a lost worker's job be recovered within
    seconds. The OAuth client secret is a canary, so a leak of settings would show.
    """
    settings = {
        "CELERY_BROKER_URL": broker_url,
        "KEAP_CLIENT_SECRET": canaries.CANARY_CLIENT_SECRET,
        "RATELIMIT_LIMITS": DRILL_LIMITS,
        "JOB_LEASE_SECONDS": 4,
        "JOB_DISPATCH_GRACE_SECONDS": 1,
        "TEST_SWEEP_SECONDS": 1,
        "LOG_LEVEL": "INFO",
    }
    settings.update(overrides)
    env = worker_environment(keap.control, **settings)
    env["DJANGO_SETTINGS_MODULE"] = "tests.drills.process_settings"
    return env


def drill_secrets(canary_site):
    """Every secret a drill searches the logs for, by name."""
    secrets = {f"canary {number}": value for number, value in enumerate(canaries.CANARIES)}
    secrets["site key"] = canary_site.raw_key
    secrets["random site key"] = canary_site.other_key
    return secrets


def main_database_dsn():
    return stack.django_dsn(db_connection.settings_dict)
