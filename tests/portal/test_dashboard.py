"""The dashboard: connections, Keap calls per day against the quota, recent jobs."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from connector.actor import SYSTEM
from connector.models import Connection, JobAttempt
from portal.views.home import daily_quota
from tenants.audit import record_event
from tests.connector.factories import make_connection
from tests.connector.site_factories import signed_in
from tests.portal.ui_helpers import enable_layout_context, make_attempt, make_job


@pytest.fixture(autouse=True)
def _layout(settings):
    enable_layout_context(settings)


def record_call(tenant, connection, *, field="api_key", when=None):
    """Write the audit event the Keap client writes for one call, optionally at `when`."""
    with mock.patch("django.utils.timezone.now", return_value=when or timezone.now()):
        record_event(
            tenant,
            "credential.decrypted",
            **SYSTEM.audit_fields(),
            target_type="connection",
            target_id=connection.public_id,
            details={"field": field, "purpose": "GET /v1/contacts", "pending": False},
        )


def numbers_row(content, day):
    """Return the cells of the chart's table row for `day` as text."""
    marker = f'<th scope="row">{day:%Y-%m-%d}</th>'.encode()
    start = content.index(marker)
    return content[start : content.index(b"</tr>", start)].decode()


def test_it_shows_connections(client, owner):
    connection = make_connection(owner.tenant, keap_tenant_id="ab123.infusionsoft.com")
    Connection.objects.filter(pk=connection.pk).update(last_checked_at=timezone.now())
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert response.status_code == 200
    assert b"Dashboard of Acme" in response.content
    assert b"ab123.infusionsoft.com" in response.content
    assert b"Personal access token" in response.content
    assert b'class="status status--active">Active' in response.content


def test_it_hides_revoked_connections(client, owner):
    make_connection(owner.tenant, status=Connection.Status.REVOKED, keap_tenant_id="gone.example")
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"gone.example" not in response.content
    assert b"No Keap account is connected yet." in response.content


def test_it_requires_login(client):
    response = client.get(reverse("index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_asks_owner_for_mfa(client, owner):
    make_connection(owner.tenant, keap_tenant_id="ab123.infusionsoft.com")
    signed_in(client, owner, mfa=False)

    response = client.get(reverse("index"))

    assert b"Set up two-factor authentication" in response.content
    assert b"ab123.infusionsoft.com" not in response.content


def test_it_works_for_viewer(client, readonly_member):
    make_connection(readonly_member.tenant)
    signed_in(client, readonly_member)

    response = client.get(reverse("index"))

    assert response.status_code == 200
    assert b"Dashboard of Acme" in response.content


def test_it_shows_nothing_of_other_tenants(client, owner, outsider):
    other = make_connection(outsider.tenant, keap_tenant_id="globex.example")
    make_job(other, path_template="/v1/globex-only")
    record_call(outsider.tenant, other)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"globex.example" not in response.content
    assert b"/v1/globex-only" not in response.content
    assert b"No job yet." in response.content
    assert numbers_row(response.content, timezone.now().date()).count(">0</td>") == 2


def test_it_counts_calls_and_errors_per_day(client, owner):
    connection = make_connection(owner.tenant)
    yesterday = timezone.now() - timedelta(days=1)
    for _ in range(3):
        record_call(owner.tenant, connection)
    record_call(owner.tenant, connection, field="access_token")
    record_call(owner.tenant, connection, when=yesterday)
    # A refresh decrypts the refresh token without being an API call.
    record_call(owner.tenant, connection, field="refresh_token")
    job = make_job(connection)
    make_attempt(job, outcome=JobAttempt.Outcome.RETRY)
    make_attempt(job, outcome=JobAttempt.Outcome.RATE_LIMITED)
    make_attempt(job, outcome=JobAttempt.Outcome.SUCCEEDED)
    make_attempt(job, outcome=JobAttempt.Outcome.FAILED, started_at=yesterday)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    today_row = numbers_row(response.content, timezone.now().date())
    yesterday_row = numbers_row(response.content, yesterday.date())
    assert '<td class="number">4</td><td class="number">2</td>' in today_row
    assert '<td class="number">1</td><td class="number">1</td>' in yesterday_row
    assert b"Keap calls: 5" in response.content
    assert b"Failed or retried job attempts: 3" in response.content


def test_it_counts_only_the_last_30_days(client, owner):
    connection = make_connection(owner.tenant)
    record_call(owner.tenant, connection, when=timezone.now() - timedelta(days=31))
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"Keap calls: 0" in response.content
    assert response.content.count(b'<th scope="row">') == 30


def test_it_keeps_counting_today_after_caching_past_days(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)
    client.get(reverse("index"))
    record_call(owner.tenant, connection)

    response = client.get(reverse("index"))

    assert b"Keap calls: 1" in response.content


def test_it_shows_daily_quota(client, owner):
    make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"Daily quota: 30,000 calls (above the chart)" in response.content
    assert b"The busiest day used 0.0% of the daily quota." in response.content


def test_it_shows_tiny_share_of_quota(client, owner):
    connection = make_connection(owner.tenant)
    record_call(owner.tenant, connection)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"The busiest day used less than 0.1% of the daily quota." in response.content


def test_it_draws_quota_line_when_calls_come_close(client, owner, settings):
    settings.RATELIMIT_LIMITS = {"key_per_day": "4"}
    connection = make_connection(owner.tenant)
    for _ in range(3):
        record_call(owner.tenant, connection)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b'class="chart__quota"' in response.content
    assert b"The busiest day used 75.0% of the daily quota." in response.content


def test_it_lists_recent_jobs(client, owner):
    connection = make_connection(owner.tenant)
    jobs = [make_job(connection, path_template=f"/v1/path{index}") for index in range(12)]
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert reverse("job_detail", args=[jobs[-1].public_id]).encode() in response.content
    assert reverse("job_detail", args=[jobs[2].public_id]).encode() in response.content
    assert reverse("job_detail", args=[jobs[1].public_id]).encode() not in response.content


def test_it_has_no_inline_code(client, owner):
    make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.get(reverse("index"))

    assert b"<script" not in response.content
    assert b"style=" not in response.content
    assert b"<style" not in response.content


@pytest.mark.parametrize(
    ("connections", "expected"),
    [
        ([], None),
        ([("a", "pat", "active")], 30_000),
        ([("a", "pat", "active"), ("a", "sak", "active")], 60_000),
        ([("a", "pat", "active"), ("a", "pat", "needs_reauth")], 30_000),
        ([("a", "oauth", "active")], 150_000),
        ([("a", "oauth", "active"), ("a", "pat", "active")], 180_000),
        ([("a", "oauth", "active"), ("b", "oauth", "active")], 300_000),
    ],
)
def test_daily_quota_sums_per_account(connections, expected):
    rows = [
        Connection(keap_tenant_id=account, method=method, status=status)
        for account, method, status in connections
    ]

    assert daily_quota(rows) == expected


def test_daily_quota_caps_each_account(settings):
    settings.RATELIMIT_LIMITS = {"account_per_day": "50000"}
    rows = [Connection(keap_tenant_id="a", method="pat", status="active") for _ in range(3)]

    assert daily_quota(rows) == 50_000
