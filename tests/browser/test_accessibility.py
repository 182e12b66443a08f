"""Every page of the portal passes axe-core with no serious or critical finding, under the CSP."""

import pytest
from django.urls import reverse

from connector.models import Connection, Job
from portal.views.imports import store_upload
from tests.browser.conftest import check_accessibility
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site
from tests.portal.ui_helpers import make_attempt, make_job

ANONYMOUS_PAGES = ["account_login", "account_signup", "account_reset_password"]

SIGNED_IN_PAGES = [
    "index",
    "connection_list",
    "connection_add_key",
    "connection_detail",
    "connection_reconnect",
    "site_list",
    "site_create",
    "site_detail",
    "job_list",
    "job_detail",
    "import_upload",
    "import_map",
    "audit_log",
    "member_list",
    "invitation_list",
    "tenant_settings",
    "tenant_list",
    "mfa_index",
    "account_email",
    "account_change_password",
]


@pytest.fixture
def tenant_data(owner):
    """A connection to reconnect (for the banner), a site, a running batch job and an upload."""
    connection = make_connection(owner.tenant, keap_tenant_id="ab123.infusionsoft.com")
    broken = make_connection(owner.tenant, status=Connection.Status.NEEDS_REAUTH)
    site = make_site(owner.tenant, connection=connection, name="Café Lumière shop").site
    job = make_job(
        connection,
        site=site,
        kind=Job.Kind.BATCH_UPSERT,
        method="PUT",
        path_template="/v1/contacts",
        status=Job.Status.RUNNING,
        progress_total=200,
        progress_done=80,
        progress_created=70,
        progress_updated=9,
        progress_failed=1,
    )
    make_attempt(job, keap_status=200, duration_ms=900)
    upload_id = store_upload(
        owner.tenant,
        owner.user,
        {
            "headers": ["First Name", "Last Name", "Email", "Phone 1", "Tags"],
            "rows": [["Zoë", "Ångström", "zoe@example.com", "555 0100 x7", "3"]],
            "filename": "contacts.csv",
            "connection": str(connection.public_id),
        },
    )
    return {
        "connection_detail": {"connection_id": connection.public_id},
        "connection_reconnect": {"connection_id": broken.public_id},
        "site_detail": {"site_id": site.public_id},
        "job_detail": {"job_id": job.public_id},
        "import_map": {"upload_id": upload_id},
    }


def assert_accessible(page):
    violations = check_accessibility(page)
    assert violations == [], f"axe-core findings on {page.url}: {violations}"
    blocked = [text for text in page.console_errors if "Content Security Policy" in text]
    assert blocked == [], f"CSP blocked something on {page.url}: {blocked}"


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_anonymous_page_is_accessible(browser_page, name):
    response = browser_page.goto(reverse(name))

    assert response.status == 200
    assert_accessible(browser_page)


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_signed_in_page_is_accessible(signed_in_page, tenant_data, name):
    response = signed_in_page.goto(reverse(name, kwargs=tenant_data.get(name)))

    assert response.status == 200, f"{name} answered {response.status}"
    assert_accessible(signed_in_page)


def test_axe_reports_a_real_violation(browser_page):
    """The check can fail: an image without alternative text is a critical finding."""
    browser_page.goto(reverse("account_login"))
    browser_page.evaluate(
        "() => { const img = document.createElement('img'); img.src = '/missing.png';"
        " document.querySelector('main').append(img); }"
    )

    violations = check_accessibility(browser_page)

    assert [violation["id"] for violation in violations] == ["image-alt"]


def test_add_script_tag_is_blocked_by_csp(browser_page):
    """Why the check evaluates axe-core instead of inserting it: the CSP blocks inline scripts."""
    browser_page.goto(reverse("account_login"))

    with pytest.raises(Exception, match="Content Security Policy|Refused"):
        browser_page.add_script_tag(content="window.inlineRan = true;")

    assert browser_page.evaluate("() => window.inlineRan === undefined")
