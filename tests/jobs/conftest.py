"""Fixtures for job tests.

Each test gets Redis names of its own (fair queue, rate-limit keys and Celery queue), so tests
never see each other's jobs or grants, and its keys are deleted afterwards. Pipeline tests run
against the Keap sandbox and need committed rows (`transactional_db`), because the Keap client
refuses to run inside a transaction.
"""

import time
import uuid

import pytest
import redis

from config.celery import app as celery_app
from connector.jobs import run, sweeper
from connector.models import Job
from connector.ratelimit import get_redis
from tests.connector.conftest import connect_api_key, keap  # noqa: F401 - the `keap` fixture

__all__ = ["connect_api_key", "drive_jobs"]


@pytest.fixture(autouse=True)
def isolated_names(settings):
    """Give the test its own fair queue, rate-limit key prefix and Celery queue."""
    token = uuid.uuid4().hex[:12]
    settings.JOB_QUEUE_NAME = f"jobs-test-{token}"
    settings.RATELIMIT_KEY_PREFIX = f"ratelimit-test-{token}:"
    saved_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = f"celery-test-{token}"
    yield token

    celery_app.conf.task_default_queue = saved_queue
    _delete_keys(get_redis(), f"fairqueue:jobs-test-{token}*")
    _delete_keys(get_redis(), f"ratelimit-test-{token}:*")
    try:
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
        _delete_keys(broker, f"celery-test-{token}*")
    except redis.RedisError:
        pass


def _delete_keys(client, pattern):
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass


@pytest.fixture
def pat(keap, tenant):  # noqa: F811 - `keap` is the imported fixture
    """(connection, sandbox key record) of an active PAT connection of `tenant` to the sandbox
    account ab123, with the sandbox's limits counted but not enforced."""
    keap.control.set_limits(enforced=False)
    return connect_api_key(keap, tenant)


@pytest.fixture
def pat_connection(pat):
    return pat[0]


@pytest.fixture
def fast_retries(settings):
    settings.JOB_RETRY_BASE_SECONDS = 0.01
    settings.JOB_RETRY_CAP_SECONDS = 0.05
    settings.JOB_DISPATCH_GRACE_SECONDS = 0
    settings.KEAP_READ_TIMEOUT = 1
    return settings


def drive_jobs(jobs, *, timeout=30.0):
    """Run the pipeline in this process until every job in `jobs` is finished.

    Each round runs the sweeper (which, with JOB_DISPATCH_GRACE_SECONDS = 0, pushes every due
    job that is not on the queue, as a delayed dispatch task would) and one pump. Returns the
    jobs reloaded; fails when they do not finish within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    pks = [job.pk for job in jobs]
    while True:
        sweeper.sweep()
        run.pump(budget_seconds=5)
        unfinished = Job.objects.filter(pk__in=pks).exclude(status__in=Job.FINISHED_STATUSES)
        if not unfinished.exists():
            break
        assert time.monotonic() < deadline, f"jobs still unfinished: {list(unfinished)}"
        time.sleep(0.02)
    by_pk = Job.objects.in_bulk(pks)
    return [by_pk[pk] for pk in pks]
