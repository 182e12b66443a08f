"""The "site key about to expire" email, sent once per key, and the reauthorisation email."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from connector import actions
from connector.models import ClientSite, Connection
from portal import emails, tasks
from tests.connector.factories import make_connection
from tests.connector.site_factories import make_site
from tests.factories import audit_events


@pytest.fixture
def expiring(owner, admin, member):
    return make_site(owner.tenant, name="Shop", expires_at=timezone.now() + timedelta(days=3))


def test_it_emails_owners_and_admins_once(expiring):
    assert emails.send_site_key_expiry_warnings() == 1

    assert sorted(message.to[0] for message in mail.outbox) == [
        "admin@example.com",
        "owner@example.com",
    ]
    assert all(len(message.to) == 1 for message in mail.outbox)
    message = mail.outbox[0]
    assert message.subject.startswith("[Connector portal] A key of Shop stops working on ")
    assert f"kpsk_…{expiring.site_key.hint}" in message.body
    assert expiring.site.get_absolute_url() in message.body
    assert expiring.raw_key not in message.body


def test_it_records_audit_event(expiring, owner):
    emails.send_site_key_expiry_warnings()

    (event,) = audit_events(owner.tenant, "site_key.expiry_notified")
    assert event.target_type == "site_key"
    assert event.target_id == str(expiring.site_key.public_id)
    assert event.actor_type == "system"
    assert event.details["recipients"] == 2
    assert event.details["site"] == str(expiring.site.public_id)


def test_it_does_not_repeat(expiring):
    emails.send_site_key_expiry_warnings()
    mail.outbox.clear()

    later = timezone.now() + timedelta(days=2)

    assert emails.send_site_key_expiry_warnings(later) == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    "change",
    ["far_expiry", "no_expiry", "expired", "revoked_key", "revoked_site"],
)
def test_it_skips_keys_that_need_no_warning(owner, change):
    expires_at = {
        "far_expiry": timezone.now() + timedelta(days=10),
        "no_expiry": None,
        "expired": timezone.now() - timedelta(minutes=1),
    }.get(change, timezone.now() + timedelta(days=1))
    made = make_site(owner.tenant, expires_at=expires_at)
    if change == "revoked_key":
        made.site_key.revoked_at = timezone.now()
        made.site_key.save()
    if change == "revoked_site":
        ClientSite.objects.filter(pk=made.site.pk).update(status=ClientSite.Status.REVOKED)

    assert emails.send_site_key_expiry_warnings() == 0
    assert mail.outbox == []


def test_it_retries_after_failed_send(expiring, owner, monkeypatch):
    def fail(key, recipients):
        raise OSError("SMTP server unavailable")

    monkeypatch.setattr(emails, "_send", fail)
    assert emails.send_site_key_expiry_warnings() == 0
    assert audit_events(owner.tenant, "site_key.expiry_notified") == []
    monkeypatch.undo()

    assert emails.send_site_key_expiry_warnings() == 1
    assert len(mail.outbox) == 2


def test_it_runs_as_periodic_task(expiring):
    tasks.warn_expiring_site_keys.apply()

    assert len(mail.outbox) == 2


def test_reauth_email_links_to_connection(owner, django_capture_on_commit_callbacks):
    connection = make_connection(owner.tenant)

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_mark_connection_needs_reauth(connection, code="invalid_credential")

    (message,) = mail.outbox
    assert message.to == ["owner@example.com"]
    assert connection.get_absolute_url() in message.body
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.NEEDS_REAUTH
