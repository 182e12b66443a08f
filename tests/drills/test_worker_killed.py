"""Drill: a worker is killed with SIGKILL while it waits for Keap's response to an upsert."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from connector.models import Job
from tests.drills import checks, stack
from tests.drills.conftest import drill_environment, drill_secrets, main_database_dsn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOBS = 30


def wait_for_held_job(timeout=20):
    """Return the job that has been running for over half a second: the one the sandbox holds."""
    deadline = time.monotonic() + timeout
    while True:
        held = (
            Job.objects.filter(
                status=Job.Status.RUNNING,
                started_at__lt=timezone.now() - timedelta(seconds=0.5),
            )
            .exclude(lease_owner="")
            .first()
        )
        if held is not None:
            return held
        assert time.monotonic() < deadline, "no job was held by the sandbox"
        time.sleep(0.05)


def test_it_finishes_jobs_after_worker_killed(broker, keap, canary_pat, canary_site, drill):
    # The sandbox delays the first upsert by 3 seconds and then carries it out, as Keap may
    # after the caller is gone.
    keap.control.add_fault("latency", seconds=3, times=1, path_prefix="/crm/rest/v1/contacts")
    env = drill_environment(keap, broker.url, KEAP_READ_TIMEOUT_SECONDS=10)
    web = drill.web(env)
    workers = {
        process.pid: process
        for process in (
            drill.worker("w1", env, pool="solo", concurrency=1),
            drill.worker("w2", env, pool="solo", concurrency=1),
        )
    }
    drill.beat(env)

    traffic = stack.Traffic(web.url, canary_site.raw_key, count=JOBS, per_second=10).start()
    held = wait_for_held_job()
    victim = workers[int(held.lease_owner.rsplit(":", 1)[1])]
    victim.kill()
    traffic.join()
    dsn = main_database_dsn()
    rows = stack.wait_until_finished(
        dsn, list(traffic.accepted.values()), timeout=90, describe=drill.tails
    )

    assert traffic.rejected == []
    assert len(traffic.accepted) == JOBS
    checks.assert_every_job_finished(rows, traffic.accepted, dsn)
    assert {row.status for row in rows.values()} == {"succeeded"}
    assert rows[str(held.public_id)].outcomes == ("lost", "succeeded")
    checks.assert_each_contact_once(keap, traffic.accepted)
    checks.assert_upserts_not_repeated(keap, rows)
    checks.assert_no_secret_in_logs(drill.log_dir, drill_secrets(canary_site))
