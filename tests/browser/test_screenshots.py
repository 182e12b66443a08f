"""Screenshots for the README, 1280 pixels wide, of pages filled with realistic data.

Each test also checks what the screenshot must show, so a broken page fails instead of being
photographed.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from connector.actor import SYSTEM, Actor
from connector.models import Connection, Job, JobAttempt
from tenants.audit import record_event
from tests.browser.conftest import save_screenshot
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site
from tests.portal.ui_helpers import make_attempt, make_job


@pytest.fixture
def shop(owner):
    """A tenant with a PAT connection, a client site and 30 days of Keap calls and jobs."""
    connection = make_connection(owner.tenant, keap_tenant_id="ab123.infusionsoft.com")
    Connection.objects.filter(pk=connection.pk).update(
        keap_account_name="Café Lumière", last_checked_at=timezone.now() - timedelta(hours=2)
    )
    connection.refresh_from_db()
    site = make_site(
        owner.tenant, connection=connection, name="Café Lumière WordPress", created_by=owner.user
    ).site
    now = timezone.now()
    for days_ago in range(29, -1, -1):
        when = now - timedelta(days=days_ago)
        calls = 3 + (days_ago * 7) % 11
        with mock.patch("django.utils.timezone.now", return_value=when):
            for _ in range(calls):
                record_event(
                    owner.tenant,
                    "credential.decrypted",
                    **SYSTEM.audit_fields(),
                    target_type="connection",
                    target_id=connection.public_id,
                    details={"field": "api_key", "purpose": "PUT /v1/contacts", "pending": False},
                )
        if days_ago % 6 == 0:
            job = make_job(
                connection,
                site=site,
                status=Job.Status.SUCCEEDED,
                keap_status=200,
                method="PUT",
                path_template="/v1/contacts",
                operation_id="createOrUpdateContactUsingPUT",
                kind=Job.Kind.UPSERT_CONTACT,
                started_at=when,
                finished_at=when + timedelta(seconds=1),
            )
            # created_at is set on insert, so the backdated time is written afterwards.
            Job.objects.filter(pk=job.pk).update(created_at=when - timedelta(seconds=1))
            make_attempt(job, outcome=JobAttempt.Outcome.RETRY, keap_status=503, started_at=when)
    return {"connection": connection, "site": site}


def test_dashboard_screenshot(signed_in_page, shop):
    signed_in_page.goto(reverse("index"))

    assert signed_in_page.get_by_role("heading", name="Dashboard of Acme").is_visible()
    assert signed_in_page.get_by_text("Café Lumière").first.is_visible()
    save_screenshot(signed_in_page, "dashboard")


def test_connect_page_screenshot(signed_in_page, shop):
    signed_in_page.goto(reverse("connection_add_key"))

    assert signed_in_page.get_by_label("Personal access token", exact=False).first.is_visible()
    save_screenshot(signed_in_page, "connect")


def test_client_site_screenshot(signed_in_page, shop):
    signed_in_page.goto(shop["site"].get_absolute_url())

    assert signed_in_page.get_by_role("heading", name="Café Lumière WordPress").is_visible()
    save_screenshot(signed_in_page, "client-site")


def test_job_progress_screenshot(signed_in_page, shop):
    job = make_job(
        shop["connection"],
        site=shop["site"],
        kind=Job.Kind.BATCH_UPSERT,
        method="PUT",
        path_template="/v1/contacts",
        operation_id="createOrUpdateContactUsingPUT",
        status=Job.Status.RUNNING,
        started_at=timezone.now() + timedelta(seconds=1),
        progress_total=200,
        progress_done=124,
        progress_created=97,
        progress_updated=25,
        progress_failed=2,
    )
    make_attempt(job, outcome=JobAttempt.Outcome.CONTINUED, keap_status=200, duration_ms=9800)
    make_attempt(job, outcome=JobAttempt.Outcome.RUNNING)
    signed_in_page.goto(reverse("job_detail", args=[job.public_id]))

    progress = signed_in_page.locator("#job-progress-bar")
    assert progress.get_attribute("value") == "124"
    save_screenshot(signed_in_page, "job-progress")

    # The page polls: a change in the database shows up without a reload.
    Job.objects.filter(pk=job.pk).update(progress_done=150, progress_created=120)
    signed_in_page.wait_for_function(
        "() => document.querySelector('#job-progress-bar').getAttribute('value') === '150'",
        timeout=5000,
    )


def test_audit_log_screenshot(signed_in_page, shop, owner):
    actor = Actor.for_user(owner.user)
    record_event(
        owner.tenant,
        "site.created",
        **actor.audit_fields(),
        target_type="site",
        target_id=shop["site"].public_id,
        details={"scopes": ["contacts:write", "tags:apply"]},
    )
    signed_in_page.goto(reverse("audit_log"))

    assert signed_in_page.get_by_role("heading", name="Audit log of Acme").is_visible()
    save_screenshot(signed_in_page, "audit-log", full_page=False)
