"""A job's page and the progress partial that a running batch job polls."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connector.models import Job, JobAttempt
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site, signed_in
from tests.portal.ui_helpers import enable_layout_context, make_attempt, make_job


@pytest.fixture(autouse=True)
def _layout(settings):
    enable_layout_context(settings)


@pytest.fixture
def connection(tenant):
    return make_connection(tenant)


def make_batch(connection, **fields):
    values = {
        "kind": Job.Kind.BATCH_UPSERT,
        "method": "PUT",
        "path_template": "/v1/contacts",
        "progress_total": 200,
        **fields,
    }
    return make_job(connection, **values)


def test_it_shows_request_attempts_and_timing(client, owner, connection):
    site = make_site(owner.tenant, connection=connection, name="Shop").site
    created = timezone.now() - timedelta(seconds=10)
    job = make_job(connection, site=site, status=Job.Status.SUCCEEDED, keap_status=200)
    Job.objects.filter(pk=job.pk).update(
        created_at=created,
        started_at=created + timedelta(seconds=2),
        finished_at=created + timedelta(seconds=5),
    )
    make_attempt(
        job,
        outcome=JobAttempt.Outcome.RETRY,
        keap_status=503,
        duration_ms=120,
        error="Keap is unavailable.",
    )
    make_attempt(job, outcome=JobAttempt.Outcome.SUCCEEDED, keap_status=200, duration_ms=80)
    signed_in(client, owner)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert response.status_code == 200
    assert b"Done: Keap answered HTTP 200." in response.content
    assert b"GET /v1/contacts" in response.content
    assert b"Shop" in response.content
    assert b"after 2.0 s in the queue" in response.content
    assert b"5.0 s after it was created" in response.content
    assert b"Failed, retry scheduled" in response.content
    assert b"Keap is unavailable." in response.content
    assert b"120 ms" in response.content


def test_it_shows_error_in_plain_words(client, owner, connection):
    job = make_job(
        connection,
        status=Job.Status.FAILED,
        keap_status=400,
        error="Keap rejected the request: Invalid email address.",
    )
    signed_in(client, owner)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert b"The job failed (Keap answered HTTP 400)." in response.content
    assert b"Keap rejected the request: Invalid email address." in response.content
    assert b'role="alert"' in response.content


def test_it_requires_login(client, connection):
    job = make_job(connection)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert response.status_code == 302


def test_it_returns_404_for_outsider(client, connection, outsider):
    job = make_job(connection)
    signed_in(client, outsider)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert response.status_code == 404


def test_it_works_for_viewer(client, readonly_member, connection):
    job = make_batch(connection, progress_failed=2, progress_done=5)
    signed_in(client, readonly_member)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert response.status_code == 200
    # Failed rows hold personal data; viewers get no download link.
    assert reverse("job_failed_rows_csv", args=[job.public_id]).encode() not in response.content


def test_it_polls_progress_of_running_batch(client, owner, connection):
    job = make_batch(
        connection,
        status=Job.Status.RUNNING,
        progress_done=40,
        progress_created=30,
        progress_updated=9,
        progress_failed=1,
    )
    signed_in(client, owner)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    progress_url = reverse("job_progress", args=[job.public_id])
    assert f'hx-get="{progress_url}"'.encode() in response.content
    assert b'hx-trigger="every 1000ms"' in response.content
    assert b'<progress id="job-progress-bar" max="200" value="40">' in response.content
    assert b'data-count="created">30<' in response.content
    assert b'data-count="updated">9<' in response.content
    assert b'data-count="failed">1<' in response.content
    assert b"portal/vendor/htmx.min.js" in response.content
    assert b"includeIndicatorStyles" in response.content


def test_it_stops_polling_finished_batch(client, owner, connection):
    job = make_batch(
        connection, status=Job.Status.SUCCEEDED, progress_done=200, progress_created=200
    )
    signed_in(client, owner)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert b"hx-get" not in response.content
    assert b"<script" not in response.content
    assert b"Processed 200 of 200 contacts" in response.content


def test_progress_returns_partial(client, owner, connection):
    job = make_batch(connection, status=Job.Status.RUNNING, progress_done=7)
    signed_in(client, owner)

    response = client.get(reverse("job_progress", args=[job.public_id]), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="job-progress"')
    assert b"Processed 7 of 200 contacts so far" in response.content
    assert "HX-Refresh" not in response


def test_progress_names_a_queued_batch_waiting(client, owner, connection):
    job = make_batch(connection, status=Job.Status.QUEUED, progress_done=0)
    signed_in(client, owner)

    response = client.get(reverse("job_progress", args=[job.public_id]), HTTP_HX_REQUEST="true")

    assert b"Waiting to start: 0 of 200 contacts done" in response.content


def test_progress_reloads_page_once_finished(client, owner, connection):
    job = make_batch(connection, status=Job.Status.FAILED, progress_done=200)
    signed_in(client, owner)

    response = client.get(reverse("job_progress", args=[job.public_id]), HTTP_HX_REQUEST="true")

    assert response["HX-Refresh"] == "true"
    assert b"hx-get" not in response.content


def test_progress_returns_404_for_outsider(client, connection, outsider):
    job = make_batch(connection)
    signed_in(client, outsider)

    response = client.get(reverse("job_progress", args=[job.public_id]))

    assert response.status_code == 404


def test_it_polls_status_of_running_request(client, owner, connection):
    job = make_job(connection, status=Job.Status.RUNNING)
    signed_in(client, owner)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert f'hx-get="{reverse("job_progress", args=[job.public_id])}"'.encode() in response.content
    assert b"This page updates by itself when the job finishes." in response.content
    assert b"<progress" not in response.content


def test_it_shows_finished_request_without_polling(client, owner, connection):
    job = make_job(connection, status=Job.Status.SUCCEEDED, keap_status=200)
    signed_in(client, owner)

    response = client.get(reverse("job_detail", args=[job.public_id]))

    assert b"hx-get" not in response.content
    assert b'id="job-progress"' not in response.content
