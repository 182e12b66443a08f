"""Drill: the site owner deletes the PAT in Keap while client sites send requests.

Keap then responds to every call with the key with 401. The first job that gets it fails and marks
the connection `needs_reauth`. Queued jobs then end without calling Keap, and the API rejects
new requests with 409 until the owner reconnects.
"""

import pytest

from connector.models import Connection
from tests.drills import checks, stack
from tests.drills.conftest import drill_environment, drill_secrets, main_database_dsn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

JOBS = 40
CONCURRENCY = 2


def test_it_stops_calls_after_pat_deleted(broker, keap, canary_pat, canary_site, drill):
    connection, key_id = canary_pat
    env = drill_environment(keap, broker.url)
    web = drill.web(env)
    drill.worker("w1", env, concurrency=CONCURRENCY)
    drill.beat(env)
    keap.control.clear_requests()

    traffic = stack.Traffic(web.url, canary_site.raw_key, count=JOBS, per_second=10).start()
    traffic.wait_for_sent(JOBS // 3)
    keap.control.delete_api_key(key_id)
    traffic.join()
    dsn = main_database_dsn()
    rows = stack.wait_until_finished(
        dsn, list(traffic.accepted.values()), timeout=60, describe=drill.tails
    )

    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    checks.assert_every_job_finished(rows, traffic.accepted, dsn)
    checks.assert_failures_have_reasons(rows)
    by_email = {email: rows[job_id] for email, job_id in traffic.accepted.items()}
    failed = {email for email, row in by_email.items() if row.status == "failed"}
    succeeded = {email for email, row in by_email.items() if row.status == "succeeded"}
    assert failed | succeeded == set(traffic.accepted)
    assert failed, "no job was refused by Keap or stopped"
    assert {by_email[email].error_code for email in failed} <= {
        "invalid_credential",
        "connection_not_active",
    }
    # Requests after the connection was marked are refused, never accepted and left queued.
    assert {status for _, status in traffic.rejected} <= {409}
    assert len(traffic.accepted) + len(traffic.rejected) == JOBS

    # Only calls already on their way when the first 401 came back can get a 401 too.
    rejected_by_keap = stack.upserts_answered(keap, 401)
    assert 1 <= rejected_by_keap <= CONCURRENCY
    checks.assert_each_contact_once(keap, succeeded)
    assert [email for email in failed if email in stack.emails_in_sandbox(keap)] == []
    checks.assert_upserts_not_repeated(keap, rows)
    checks.assert_no_secret_in_logs(drill.log_dir, drill_secrets(canary_site))
