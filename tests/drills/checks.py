"""The checks every drill ends with: each accepted job finished, no Keap effect doubled, and
no secret in the output of any process."""

import collections

from tests import canaries
from tests.drills import stack


def assert_every_job_finished(rows, accepted, dsn):
    """Every accepted job has a row and a final status, and no job of any site is unfinished."""
    assert len(rows) == len(accepted), "accepted jobs without a row"
    unfinished = [row for row in rows.values() if row.status not in stack.FINISHED]
    assert unfinished == []
    assert stack.count_unfinished(dsn) == 0


def assert_failures_have_reasons(rows):
    """Each job that did not succeed carries an error code and a message for the site."""
    for row in rows.values():
        if row.status == "succeeded":
            continue
        assert row.error_code, row
        assert row.error, row


def assert_each_contact_once(keap, emails):
    """Each of `emails` is stored in the sandbox exactly once, and no address is stored twice."""
    in_sandbox = stack.emails_in_sandbox(keap)
    missing_or_doubled = {email: in_sandbox[email] for email in emails if in_sandbox[email] != 1}
    assert missing_or_doubled == {}
    doubled = {email: count for email, count in in_sandbox.items() if count > 1}
    assert doubled == {}


def assert_upserts_not_repeated(keap, rows):
    """Check that Keap returned 200 to an upsert once per succeeded job, plus at most once per
    attempt that a worker lost or that timed out. Only those attempts can have reached Keap
    without the job recording the response."""
    answered = stack.upserts_answered(keap, 200)
    succeeded = sum(1 for row in rows.values() if row.status == "succeeded")
    outcomes = collections.Counter(outcome for row in rows.values() for outcome in row.outcomes)
    assert answered >= succeeded
    assert answered - succeeded <= outcomes["lost"] + outcomes["retry"]


def assert_no_secret_in_logs(log_dir, secrets):
    """No form of any secret (raw, URL-encoded, hex or base64) is in any process log.

    The logs must show the traffic itself, so the search looks at real output.
    """
    haystack = stack.read_logs(log_dir)
    assert b"/api/v1/contacts:upsert" in haystack, "the web log shows no API request"
    assert b"connector.jobs.tasks.pump_jobs" in haystack, "the worker logs show no pump task"
    assert canaries.find_leaks(haystack, secrets) == []
