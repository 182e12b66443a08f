"""Downloading a batch job's failed rows as CSV: decrypted for the download and audited."""

import csv
import io

import pytest
from django.db import transaction
from django.urls import reverse

from connector.jobs import payloads
from connector.models import Job
from tests.connector.factories import make_connection
from tests.connector.site_factories import signed_in
from tests.factories import audit_events
from tests.jobs.factories import make_batch_job
from tests.portal.ui_helpers import enable_layout_context


@pytest.fixture(autouse=True)
def _layout(settings):
    enable_layout_context(settings)


@pytest.fixture
def batch(tenant):
    contacts = [
        {"email": "ana@example.com", "given_name": "Ana", "family_name": "Núñez"},
        {
            "email": "bad@example",
            "given_name": '=HYPERLINK("x")',
            "phones": [{"number": "+1 555 0100", "extension": "12"}],
        },
    ]
    job = make_batch_job(make_connection(tenant), contacts)
    failed = [
        {
            "row": 1,
            "email": "bad@example",
            "error_code": "bad_request",
            "error": "Keap rejected the contact: Invalid email address.",
            "keap_status": 400,
        }
    ]
    with transaction.atomic():
        job.failed_rows_ciphertext = payloads.encrypt(job, payloads.FAILED_ROWS, failed)
        job.progress_failed = 1
        job.progress_done = 2
        job.status = Job.Status.SUCCEEDED
        job.save()
    return job


def download(client, job):
    return client.get(reverse("job_failed_rows_csv", args=[job.public_id]))


def test_it_sends_failed_rows_in_import_columns(client, owner, batch):
    signed_in(client, owner)

    response = download(client, batch)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    assert f"failed-rows-{batch.public_id}.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1
    assert rows[0]["Email"] == "bad@example"
    assert rows[0]["Phone 1"] == "'+1 555 0100"
    assert rows[0]["Phone 1 Ext"] == "12"
    assert rows[0]["Row"] == "2"
    assert rows[0]["Error"] == "Keap rejected the contact: Invalid email address."


def test_it_escapes_formulas(client, owner, batch):
    signed_in(client, owner)

    response = download(client, batch)

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["First Name"] == '\'=HYPERLINK("x")'


def test_it_audits_download_without_personal_data(client, owner, batch):
    signed_in(client, owner)

    download(client, batch)

    (event,) = audit_events(owner.tenant, "failed_rows.exported")
    assert event.target_type == "job"
    assert event.target_id == str(batch.public_id)
    assert event.actor_id == str(owner.user.pk)
    assert event.details == {"rows": 1, "format": "csv"}
    assert "bad@example" not in str(event.details)


def test_it_falls_back_to_email_after_payload_purge(client, owner, batch):
    Job.objects.filter(pk=batch.pk).update(payload_ciphertext=None)
    signed_in(client, owner)

    response = download(client, batch)

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["Email"] == "bad@example"
    assert rows[0]["First Name"] == ""


def test_it_sends_header_only_without_failures(client, owner, tenant):
    job = make_batch_job(make_connection(tenant), [{"email": "ok@example.com"}])
    signed_in(client, owner)

    response = download(client, job)

    assert response.content.decode().splitlines() == [
        "Email,First Name,Last Name,Phone 1,Phone 1 Ext,Phone 2,Phone 2 Ext,Street Address 1,"
        "Street Address 2,City,State,Postal Code,Country,Row,Error"
    ]


def test_it_returns_403_for_viewer(client, readonly_member, batch):
    signed_in(client, readonly_member)

    response = download(client, batch)

    assert response.status_code == 403
    assert audit_events(readonly_member.tenant, "failed_rows.exported") == []


def test_it_returns_404_for_outsider(client, outsider, batch):
    signed_in(client, outsider)

    response = download(client, batch)

    assert response.status_code == 404


def test_it_requires_login(client, batch):
    response = download(client, batch)

    assert response.status_code == 302
