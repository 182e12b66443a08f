"""Importing contacts from CSV: upload, column mapping with preview, start as a batch job."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from connector.jobs import payloads
from connector.models import Connection, Job
from tests.connector.factories import make_connection
from tests.connector.site_factories import signed_in
from tests.factories import audit_events
from tests.portal.ui_helpers import enable_layout_context

CSV = (
    "\ufeffFirst Name,Last Name,Email,Phone 1,Tags,Notes\n"
    "Zoë,Ångström,zoe@example.com,555 0100 x7,3,met at fair\n"
    "李,小龍,LEE@example.com,,,\n"
    ",,not-an-email,,,\n"
)


@pytest.fixture(autouse=True)
def _layout(settings):
    enable_layout_context(settings)


@pytest.fixture
def connection(tenant):
    return make_connection(tenant)


def csv_file(text=CSV, name="contacts.csv"):
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def upload(client, connection, text=CSV):
    return client.post(
        reverse("import_upload"),
        {"file": csv_file(text), "connection": str(connection.public_id)},
    )


def upload_id_of(response):
    return response.url.rstrip("/").split("/")[-1]


def guessed_mapping():
    return {
        "column_0": "given_name",
        "column_1": "family_name",
        "column_2": "email",
        "column_3": "phone1",
        "column_4": "tag_ids",
        "column_5": "",
    }


def test_upload_page_works(client, member, connection):
    signed_in(client, member)

    response = client.get(reverse("import_upload"))

    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content
    assert b"Sandbox account" in response.content


def test_upload_requires_login(client):
    response = client.get(reverse("import_upload"))

    assert response.status_code == 302


def test_upload_returns_403_for_viewer(client, readonly_member, connection):
    signed_in(client, readonly_member)

    assert client.get(reverse("import_upload")).status_code == 403
    assert upload(client, connection).status_code == 403


def test_upload_explains_missing_connection(client, member):
    make_connection(member.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, member)

    response = client.get(reverse("import_upload"))

    assert b"No Keap account is connected and active" in response.content


def test_upload_rejects_other_tenants_connection(client, member, connection, outsider):
    foreign = make_connection(outsider.tenant)
    signed_in(client, member)

    response = upload(client, foreign)

    assert response.status_code == 400
    assert b"Select a valid choice." in response.content


def test_upload_rejects_large_file(client, member, connection, settings):
    settings.IMPORT_MAX_BYTES = 50
    signed_in(client, member)

    response = upload(client, connection)

    assert response.status_code == 400
    assert b"the maximum is 50\xc2\xa0bytes. Split it into smaller files." in response.content
    assert b'aria-invalid="true"' in response.content


def test_upload_rejects_too_many_rows(client, member, connection, settings):
    settings.JOB_MAX_BATCH_ROWS = 2
    signed_in(client, member)

    response = upload(client, connection)

    assert response.status_code == 400
    assert b"The file has 3 contacts and one import takes at most 2." in response.content


def test_upload_rejects_non_utf8(client, member, connection):
    signed_in(client, member)

    response = client.post(
        reverse("import_upload"),
        {
            "file": SimpleUploadedFile("c.csv", "Email\nzoë@example.com\n".encode("latin-1")),
            "connection": str(connection.public_id),
        },
    )

    assert response.status_code == 400
    assert b"Save it as" in response.content


def test_upload_stores_file_only_encrypted(client, member, connection):
    signed_in(client, member)

    response = upload(client, connection)

    assert response.status_code == 302
    entry = cache.get(f"portal:import:{upload_id_of(response)}")
    assert entry["tenant"] == str(member.tenant.public_id)
    assert b"zoe@example.com" not in entry["ciphertext"]
    assert "Ångström".encode() not in entry["ciphertext"]


def test_map_shows_guessed_mapping_and_preview(client, member, connection):
    signed_in(client, member)
    response = client.get(upload(client, connection).url)

    assert response.status_code == 200
    assert b"3 contacts in the file." in response.content
    assert b'<option value="given_name" selected>' in response.content
    assert b'<option value="tag_ids" selected>' in response.content
    assert "Ångström".encode() in response.content
    assert "李".encode() in response.content
    assert b"Import 2 contacts" in response.content
    assert "Invalid email address “not-an-email”.".encode() in response.content


def test_map_previews_another_mapping(client, member, connection):
    signed_in(client, member)
    url = upload(client, connection).url

    response = client.post(
        url, {**guessed_mapping(), "column_0": "", "column_5": "family_name", "column_1": ""}
    )

    assert response.status_code == 200
    assert b"met at fair" in response.content
    assert Job.objects.count() == 0


def test_map_returns_404_for_other_users_upload(client, member, connection, make_membership):
    signed_in(client, member)
    url = upload(client, connection).url
    colleague = make_membership(member.tenant, role="admin")
    signed_in(client, colleague)

    response = client.get(url)

    assert response.status_code == 404


def test_map_returns_404_once_upload_expires(client, member, connection):
    signed_in(client, member)
    url = upload(client, connection).url
    cache.clear()

    response = client.get(url)

    assert response.status_code == 404


def test_start_creates_batch_job(client, member, connection):
    signed_in(client, member)
    upload_response = upload(client, connection)
    upload_id = upload_id_of(upload_response)

    response = client.post(reverse("import_start", args=[upload_id]), guessed_mapping())

    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("job_detail", args=[job.public_id])
    assert job.kind == Job.Kind.BATCH_UPSERT
    assert job.progress_total == 2
    assert job.created_by == member.user
    assert job.site is None
    rows = payloads.decrypt(job, payloads.PAYLOAD)["rows"]
    assert rows[0]["contact"]["given_name"] == "Zoë"
    assert rows[0]["contact"]["phone_numbers"] == [
        {"number": "555 0100", "extension": "7", "field": "PHONE1"}
    ]
    assert rows[0]["tag_ids"] == [3]
    assert rows[1]["contact"]["email_addresses"][0]["email"] == "LEE@example.com"
    assert cache.get(f"portal:import:{upload_id}") is None
    (created,) = audit_events(member.tenant, "job.created")
    assert created.actor_id == str(member.user.pk)
    assert created.details["rows"] == 2


def test_start_reports_skipped_rows(client, member, connection):
    signed_in(client, member)
    upload_id = upload_id_of(upload(client, connection))

    response = client.post(
        reverse("import_start", args=[upload_id]), guessed_mapping(), follow=True
    )

    assert b"Importing 2 contacts into Sandbox account (PAT)." in response.content
    assert b"Skipped 1 without a valid email address." in response.content


def test_start_requires_email_column(client, member, connection):
    signed_in(client, member)
    upload_id = upload_id_of(upload(client, connection))

    response = client.post(
        reverse("import_start", args=[upload_id]), {**guessed_mapping(), "column_2": ""}
    )

    assert response.status_code == 400
    assert b"Choose the column that holds the email address" in response.content
    assert Job.objects.count() == 0


def test_start_rejects_field_chosen_twice(client, member, connection):
    signed_in(client, member)
    upload_id = upload_id_of(upload(client, connection))

    response = client.post(
        reverse("import_start", args=[upload_id]), {**guessed_mapping(), "column_5": "given_name"}
    )

    assert response.status_code == 400
    assert b"Choose each field for one column only: First name." in response.content


def test_start_rejects_revoked_connection(client, member, connection):
    signed_in(client, member)
    upload_id = upload_id_of(upload(client, connection))
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.REVOKED)

    response = client.post(reverse("import_start", args=[upload_id]), guessed_mapping())

    assert response.status_code == 302
    assert response.url == reverse("import_upload")
    assert Job.objects.count() == 0


def test_start_hides_upload_from_viewer(client, member, readonly_member, connection):
    signed_in(client, member)
    upload_id = upload_id_of(upload(client, connection))
    # Even with a valid upload id, a viewer's session cannot read another user's upload.
    signed_in(client, readonly_member)

    response = client.post(reverse("import_start", args=[upload_id]), guessed_mapping())

    assert response.status_code == 404
    assert Job.objects.count() == 0


def test_start_returns_403_after_role_drops_to_viewer(client, member, connection):
    signed_in(client, member)
    upload_id = upload_id_of(upload(client, connection))
    member.role = "viewer"
    member.save(update_fields=["role"])

    response = client.post(reverse("import_start", args=[upload_id]), guessed_mapping())

    assert response.status_code == 403
    assert Job.objects.count() == 0
