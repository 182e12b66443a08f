"""Drill: Keap responds to every API request with 503 for a minute, then recovers.

The outage is compressed to 20 seconds, and the retry backoff by the same factor of 3:
JOB_RETRY_BASE_SECONDS is 2/3 instead of 2, with the default JOB_MAX_ATTEMPTS of 8. A job's
seven backoffs then add up to 42 to 85 seconds (127 to 254 at real speed), longer than the
outage. Requests arrive throughout the outage, and each of them must succeed once Keap is back,
with its contact written once. The sandbox's 503 is a gateway fault
that carries nothing out.
"""

import time

import pytest

from tests.drills import checks, stack
from tests.drills.conftest import drill_environment, drill_secrets, main_database_dsn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

OUTAGE_SECONDS = 20
TIME_FACTOR = 60 / OUTAGE_SECONDS
DURING = 30
AFTER = 10


def test_it_accounts_for_jobs_through_outage(broker, keap, canary_site, drill):
    env = drill_environment(keap, broker.url, DRILL_JOB_RETRY_BASE_SECONDS=2 / TIME_FACTOR)
    web = drill.web(env)
    drill.worker("w1", env, concurrency=2)
    drill.beat(env)
    keap.control.clear_requests()

    keap.control.add_fault("error", status=503, rate=1.0, path_prefix="/crm/rest")
    outage_started = time.monotonic()
    during = stack.Traffic(
        web.url,
        canary_site.raw_key,
        count=DURING,
        per_second=DURING / OUTAGE_SECONDS,
        prefix="during",
    ).start()
    during.join()
    time.sleep(max(0.0, outage_started + OUTAGE_SECONDS - time.monotonic()))
    keap.control.clear_faults()
    after = stack.Traffic(
        web.url, canary_site.raw_key, count=AFTER, per_second=5, prefix="after"
    ).start()
    after.join()

    accepted = {**during.accepted, **after.accepted}
    dsn = main_database_dsn()
    rows = stack.wait_until_finished(dsn, list(accepted.values()), timeout=90, describe=drill.tails)

    assert during.rejected == []
    assert after.rejected == []
    assert len(accepted) == DURING + AFTER
    checks.assert_every_job_finished(rows, accepted, dsn)
    checks.assert_failures_have_reasons(rows)
    by_email = {email: rows[job_id] for email, job_id in accepted.items()}
    failed = {email for email, row in by_email.items() if row.status != "succeeded"}
    assert failed == set(), "a job gave up during a one-minute outage"
    for email in during.accepted:
        assert by_email[email].outcomes[0] == "retry"
        assert by_email[email].attempts > 1

    unavailable = stack.upserts_answered(keap, 503)
    assert unavailable >= DURING
    checks.assert_each_contact_once(keap, set(accepted))
    checks.assert_upserts_not_repeated(keap, rows)
    checks.assert_no_secret_in_logs(drill.log_dir, drill_secrets(canary_site))
