"""Drill: PostgreSQL restarts while client sites send requests and workers run jobs.

The drill's web and worker processes use a PostgreSQL server that the test starts itself, in a
temporary folder on its own port, holding a copy of the test database with the tenant, the
connection and the site. Stopping it (`pg_ctl stop -m fast`, which drops every connection and
rolls back open transactions) disturbs no other test.
"""

import time

import pytest
from django.db import connection as db_connection

from tests.drills import checks, stack
from tests.drills.conftest import drill_environment, drill_secrets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOBS = 40
OUTAGE_SECONDS = 3
DATABASE_NAME = "portal_drill"


@pytest.fixture
def private_postgres():
    server = stack.PrivatePostgres().init()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def test_it_finishes_jobs_after_postgres_restart(
    broker, keap, canary_site, drill, private_postgres
):
    private_postgres.copy_database(db_connection.settings_dict, DATABASE_NAME)
    dsn = private_postgres.dsn(DATABASE_NAME)
    env = drill_environment(keap, broker.url, DATABASE_URL=private_postgres.url(DATABASE_NAME))
    web = drill.web(env)
    drill.worker("w1", env, concurrency=2)
    drill.beat(env)

    traffic = stack.Traffic(web.url, canary_site.raw_key, count=JOBS, per_second=8).start()
    traffic.wait_for_sent(JOBS // 4)
    private_postgres.stop(mode="fast")
    time.sleep(OUTAGE_SECONDS)
    private_postgres.start()
    traffic.join()
    rows = stack.wait_until_finished(
        dsn, list(traffic.accepted.values()), timeout=90, describe=drill.tails
    )

    # Requests that arrive while the database is down are rejected with a server error, so
    # the client retries them. A request is accepted only once its job row is written.
    assert traffic.rejected, "no request arrived while PostgreSQL was down"
    assert all(status == 503 for _, status in traffic.rejected), traffic.rejected
    assert len(traffic.accepted) + len(traffic.rejected) == JOBS
    checks.assert_every_job_finished(rows, traffic.accepted, dsn)
    checks.assert_failures_have_reasons(rows)
    assert {row.status for row in rows.values()} == {"succeeded"}
    checks.assert_each_contact_once(keap, traffic.accepted)
    checks.assert_upserts_not_repeated(keap, rows)
    checks.assert_no_secret_in_logs(drill.log_dir, drill_secrets(canary_site))
