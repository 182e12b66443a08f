"""The jobs page: the current tenant's jobs, filtered by status and site, paged by keyset."""

import pytest
from django.urls import reverse

from connector.models import Job
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site, signed_in
from tests.portal.ui_helpers import enable_layout_context, make_job


@pytest.fixture(autouse=True)
def _layout(settings):
    enable_layout_context(settings)


@pytest.fixture
def connection(tenant):
    return make_connection(tenant)


def detail_link(job):
    return reverse("job_detail", args=[job.public_id]).encode()


def test_it_works(client, owner, connection):
    job = make_job(connection, path_template="/v1/tags")
    signed_in(client, owner)

    response = client.get(reverse("job_list"))

    assert response.status_code == 200
    assert detail_link(job) in response.content
    assert b"GET /v1/tags" in response.content


def test_it_requires_login(client):
    response = client.get(reverse("job_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_works_for_viewer(client, readonly_member, connection):
    job = make_job(connection)
    signed_in(client, readonly_member)

    response = client.get(reverse("job_list"))

    assert response.status_code == 200
    assert detail_link(job) in response.content


def test_it_lists_only_own_tenants_jobs(client, owner, connection, outsider):
    foreign = make_job(make_connection(outsider.tenant))
    signed_in(client, owner)

    response = client.get(reverse("job_list"))

    assert detail_link(foreign) not in response.content
    assert b"No job matches these filters." in response.content


def test_it_filters_by_status(client, owner, connection):
    failed = make_job(connection, status=Job.Status.FAILED)
    succeeded = make_job(connection, status=Job.Status.SUCCEEDED)
    signed_in(client, owner)

    response = client.get(reverse("job_list"), {"status": "failed"})

    assert detail_link(failed) in response.content
    assert detail_link(succeeded) not in response.content


def test_it_filters_by_site(client, owner, connection):
    site = make_site(owner.tenant, connection=connection, name="Shop").site
    from_site = make_job(connection, site=site)
    from_portal = make_job(connection)
    signed_in(client, owner)

    by_site = client.get(reverse("job_list"), {"site": str(site.public_id)})
    by_portal = client.get(reverse("job_list"), {"site": "portal"})

    assert detail_link(from_site) in by_site.content
    assert detail_link(from_portal) not in by_site.content
    assert detail_link(from_portal) in by_portal.content
    assert detail_link(from_site) not in by_portal.content


def test_it_rejects_other_tenants_site(client, owner, connection, outsider):
    foreign_site = make_site(outsider.tenant).site
    make_job(connection)
    signed_in(client, owner)

    response = client.get(reverse("job_list"), {"site": str(foreign_site.public_id)})

    assert response.status_code == 400
    assert b"Select a valid choice." in response.content


def test_it_rejects_unknown_status(client, owner, connection):
    signed_in(client, owner)

    response = client.get(reverse("job_list"), {"status": "exploded"})

    assert response.status_code == 400
    assert b"Select a valid choice. exploded is not one of the available choices." in (
        response.content
    )


def test_it_pages_by_keyset(client, owner, connection):
    jobs = [make_job(connection) for _ in range(51)]
    signed_in(client, owner)

    first = client.get(reverse("job_list"))
    second = client.get(reverse("job_list"), {"after": str(jobs[1].public_id)})

    assert detail_link(jobs[-1]) in first.content
    assert detail_link(jobs[1]) in first.content
    assert detail_link(jobs[0]) not in first.content
    assert f"after={jobs[1].public_id}".encode() in first.content
    assert detail_link(jobs[0]) in second.content
    assert detail_link(jobs[1]) not in second.content
    assert b"Older jobs" not in second.content
    assert b"Newest jobs" in second.content


def test_it_ignores_cursor_of_other_tenant(client, owner, connection, outsider):
    own = make_job(connection)
    foreign = make_job(make_connection(outsider.tenant))
    signed_in(client, owner)

    response = client.get(reverse("job_list"), {"after": str(foreign.public_id)})

    assert response.status_code == 200
    assert detail_link(own) in response.content


def test_it_reports_invalid_cursor(client, owner, connection):
    signed_in(client, owner)

    response = client.get(reverse("job_list"), {"after": "not-a-uuid"})

    assert response.status_code == 400
    assert b"The page link is invalid" in response.content
