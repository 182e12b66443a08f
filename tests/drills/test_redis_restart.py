"""Drill: Redis stops for a few seconds while client sites send requests, then starts again
empty, as a Redis without persistence does.

The stopped Redis contains the fair queue, the rate limiter and the cache, and with the Redis
broker the Celery queue too. A redis-server of the test's own on a free port is stopped, so no
other test is disturbed.
"""

import time

import pytest

from tests.config.test_health import PrivateRedis
from tests.drills import checks, stack
from tests.drills.conftest import drill_environment, drill_secrets, main_database_dsn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOBS = 40
OUTAGE_SECONDS = 3


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def test_it_finishes_jobs_after_redis_restart(broker, keap, canary_site, drill, private_redis):
    broker_url = private_redis.url if broker.kind == "redis" else broker.url
    env = drill_environment(
        keap, broker_url, CACHE_URL=private_redis.url, RATELIMIT_REDIS_URL=private_redis.url
    )
    web = drill.web(env)
    drill.supervise(drill.worker("w1", env, concurrency=2))
    drill.beat(env)

    traffic = stack.Traffic(web.url, canary_site.raw_key, count=JOBS, per_second=8).start()
    traffic.wait_for_sent(JOBS // 4)
    private_redis.stop()
    time.sleep(OUTAGE_SECONDS)
    private_redis.start()
    traffic.join()
    dsn = main_database_dsn()
    rows = stack.wait_until_finished(
        dsn, list(traffic.accepted.values()), timeout=90, describe=drill.tails
    )

    # The API accepts jobs while Redis is down: the job row is what counts.
    assert traffic.rejected == []
    assert len(traffic.accepted) == JOBS
    checks.assert_every_job_finished(rows, traffic.accepted, dsn)
    assert {row.status for row in rows.values()} == {"succeeded"}
    checks.assert_each_contact_once(keap, traffic.accepted)
    checks.assert_upserts_not_repeated(keap, rows)
    checks.assert_no_secret_in_logs(drill.log_dir, drill_secrets(canary_site))
    assert b"not dispatched, the sweeper will retry" in stack.read_logs(drill.log_dir)
    # NOTE: with the Redis broker, kombu 5.7.0 sometimes ends the worker with "Unrecoverable
    # error: AttributeError: 'NoneType' object has no attribute 'hostname'" while it closes
    # the lost broker connection. The supervisor then restarts it, as the deployment does.
    print(f"worker exits during the drill: {drill.restarts}")
