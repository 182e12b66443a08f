"""The main job as a new site owner does it, in Chromium, against a real worker and the sandbox.

The owner signs up, verifies the email, sets up two-factor authentication, connects Keap (by PAT,
or by OAuth through the sandbox's consent page), creates a client site and copies its key. A
client script then upserts contacts through the API. The owner watches the jobs finish, reads
the audit log and revokes the site.
"""

import base64
import hashlib
import hmac
import re
import struct
import time
from collections import Counter

import pytest
import requests
from django.core import mail
from django.urls import reverse

from connector.keap import oauth
from connector.models import Connection, Job
from tests.browser import client_script
from tests.connector.site_factories import make_site

PASSWORD = "a long passphrase for the browser test 7"
JOB_FINISH_SECONDS = 120


def totp_code(secret, at=None):
    """Return the current 6-digit TOTP code of a base32 `secret` (RFC 6238: SHA-1, 30 s)."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def sign_up_and_verify(page, email):
    page.goto(reverse("account_signup"))
    page.get_by_label("Email:").fill(email)
    page.get_by_label("Password:", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again):").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_load_state()

    (message,) = [message for message in mail.outbox if email in message.to]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert link, message.body
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_load_state()

    if "/accounts/login/" in page.url:
        page.get_by_label("Email:").fill(email)
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_load_state()


def confirm_password_if_asked(page):
    """Answer allauth's password prompt, which guards sensitive pages after a while."""
    if "/accounts/reauthenticate/" in page.url:
        page.get_by_label("Password:", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()


def create_tenant(page, name):
    page.goto(reverse("tenant_list"))
    page.get_by_label("Name:").fill(name)
    page.get_by_role("button", name="Create tenant").click()
    page.wait_for_load_state()


def set_up_totp(page):
    page.goto(reverse("mfa_activate_totp"))
    confirm_password_if_asked(page)
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) >= 16
    page.get_by_label("Code", exact=False).last.fill(totp_code(secret))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_load_state()
    assert page.get_by_text("Authenticator app activated").count() or "recovery" in page.url


def connect_pat(page, key):
    page.goto(reverse("connection_list"))
    page.get_by_role(
        "link", name="Connect with a personal access token or service account key"
    ).click()
    page.get_by_label("Personal access token", exact=False).first.check()
    page.get_by_label("Key:", exact=True).fill(key)
    page.get_by_role("button", name="Connect", exact=True).click()
    page.wait_for_load_state()


def create_site(page, name):
    """Create a client site with contacts:write and tags:apply only; return the copied key."""
    page.goto(reverse("site_create"))
    page.get_by_label("Name:").fill(name)
    for checkbox in page.locator("input[name=scopes]").all():
        wanted = checkbox.get_attribute("value") in ("contacts:write", "tags:apply")
        checkbox.set_checked(wanted)
    page.get_by_role("button", name="Create site and key").click()
    page.wait_for_load_state()
    key = page.locator("#site-key").input_value()
    assert key.startswith("kpsk_")
    return key


def wait_for_job_page(page, job_id):
    """Open the job's page and wait until the page itself shows the job finished."""
    page.goto(reverse("job_detail", args=[job_id]))
    page.wait_for_function(
        "() => !document.querySelector('[hx-get]')",
        timeout=JOB_FINISH_SECONDS * 1000,
    )
    page.wait_for_load_state()
    return page.locator("main .status").first.inner_text()


@pytest.mark.slow
def test_main_job_by_pat(browser_page, portal, worker, keap_sandbox, tmp_path):
    page = browser_page
    keap_sandbox.create_account("ab123", "Café Lumière")
    pat = keap_sandbox.create_api_key("ab123", "PAT")["key"]
    tag = requests.post(
        f"{keap_sandbox.api_base_url}/v1/tags",
        json={"name": "Newsletter"},
        headers={"X-Keap-API-Key": pat},
        timeout=10,
    ).json()

    sign_up_and_verify(page, "owner@cafe-lumiere.example")
    create_tenant(page, "Café Lumière")
    set_up_totp(page)
    connect_pat(page, pat)
    assert page.get_by_text("Connected Keap account").is_visible()
    assert pat not in page.content()

    site_key = create_site(page, "Café Lumière WordPress")
    assert site_key not in page.url

    emails = client_script.write_contacts_csv(tmp_path / "contacts.csv")
    contacts = client_script.read_contacts(tmp_path / "contacts.csv", tag["id"])
    assert len(contacts) == 200
    job_ids = client_script.upsert_in_batches(portal, site_key, contacts)
    assert len(job_ids) == 2

    for job_id in job_ids:
        assert wait_for_job_page(page, job_id) == "Succeeded"
        assert page.locator("#job-progress-bar").get_attribute("value") == "100"
        assert page.locator("[data-count=failed]").inner_text() == "0"
    jobs = Job.objects.filter(public_id__in=job_ids)
    assert sum(job.progress_created for job in jobs) == 180
    assert sum(job.progress_updated for job in jobs) == 20

    stored = Counter(
        address["email"].lower()
        for contact in keap_sandbox.contacts("ab123")
        for address in contact["email_addresses"]
    )
    assert set(stored) == emails
    assert max(stored.values()) == 1

    page.goto(reverse("audit_log"))
    log = page.locator("main").inner_text()
    assert "job.succeeded" in log
    assert "credential.decrypted" in log
    assert pat not in page.content()
    assert site_key not in page.content()

    page.goto(reverse("site_list"))
    page.get_by_role("link", name="Café Lumière WordPress").click()
    page.get_by_role("link", name="Revoke this site").click()
    confirm_password_if_asked(page)
    page.get_by_role("button", name="Revoke Café Lumière WordPress").click()
    page.wait_for_load_state()
    assert "Revoked" in page.locator("main").inner_text()

    refused = client_script.read_job(portal, site_key, job_ids[0])
    assert refused.status_code == 401


@pytest.mark.slow
def test_main_job_by_oauth(signed_in_page, portal, worker, keap_sandbox, settings, owner):
    page = signed_in_page
    keap_sandbox.create_oauth_client(
        [oauth.redirect_uri()],
        client_id=settings.KEAP_CLIENT_ID,
        client_secret=settings.KEAP_CLIENT_SECRET,
    )
    keap_sandbox.create_account("ab123", "Café Lumière")
    keap_sandbox.create_user("ab123", "kay@cafe-lumiere.example", "Kay", "Owner", is_admin=True)

    page.goto(reverse("connection_list"))
    page.get_by_role("button", name="Connect with Keap").click()
    page.wait_for_url(re.compile(r"/app/oauth/authorize"))
    page.get_by_label(re.compile("kay@cafe-lumiere.example")).check()
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"/connections/[0-9a-f-]{36}/$"))
    assert page.get_by_text("Connected Keap account").is_visible()
    assert "Active" in page.locator("main").inner_text()

    connection = Connection.objects.for_tenant(owner.tenant).get()
    assert connection.method == Connection.Method.OAUTH
    made = make_site(owner.tenant, connection=connection, name="Shop")
    access_tokens = [token for token in keap_sandbox.tokens() if token["type"] == "access"]
    assert len(access_tokens) == 1
    keap_sandbox.expire_token(token_id=access_tokens[0]["token_id"])
    refreshes_before = _refresh_requests(keap_sandbox)

    response = requests.post(
        f"{portal}/api/v1/contacts:upsert",
        json={"email": "Ana.Nunez@Example.com", "given_name": "Ana", "family_name": "Núñez"},
        headers={"Authorization": f"Bearer {made.raw_key}"},
        timeout=30,
    )
    assert response.status_code == 202, response.text

    assert wait_for_job_page(page, response.json()["id"]) == "Succeeded"
    assert _refresh_requests(keap_sandbox) == refreshes_before + 1
    stored = [c["email_addresses"][0]["email"] for c in keap_sandbox.contacts("ab123")]
    assert stored == ["Ana.Nunez@Example.com"]


def _refresh_requests(keap_sandbox):
    return sum(
        1
        for entry in keap_sandbox.request_log()
        if entry["path"] == "/token" and entry["status"] == 200
    )
