"""Drill: Keap responds to every API request with 503 for a while, then recovers.

A one-minute outage is compressed to 20 seconds, and the retry backoff by the same factor of 3:
JOB_RETRY_BASE_SECONDS is 2/3 instead of 2, with the default JOB_MAX_ATTEMPTS of 5. A job's
four backoffs then add up to 5 to 10 seconds. Requests arrive throughout the outage. Jobs that
arrive early use up their attempts before it ends and fail with a reason; jobs from its last
5 seconds are still retrying when Keap is back, and succeed. The sandbox's 503 is a gateway
fault that carries nothing out, so a failed job must leave no contact behind.
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
    failed = {email for email, row in by_email.items() if row.status == "failed"}
    succeeded = {email for email, row in by_email.items() if row.status == "succeeded"}
    assert failed | succeeded == set(accepted)
    for email in failed:
        assert by_email[email].error_code == "keap_unavailable"
        assert by_email[email].attempts == 5
        assert "after 5 attempts" in by_email[email].error
    assert set(after.accepted) <= succeeded
    assert all(by_email[email].outcomes[0] == "retry" for email in during.accepted)
    assert failed, "no job used up its attempts during the outage"
    assert succeeded & set(during.accepted), "no job of the outage succeeded after it"
    print(f"outage drill: {len(failed)} failed, {len(succeeded)} succeeded")

    unavailable = stack.upserts_answered(keap, 503)
    assert unavailable >= DURING
    checks.assert_each_contact_once(keap, succeeded)
    in_sandbox = stack.emails_in_sandbox(keap)
    assert [email for email in failed if email in in_sandbox] == []
    checks.assert_upserts_not_repeated(keap, rows)
    checks.assert_no_secret_in_logs(drill.log_dir, drill_secrets(canary_site))
