"""Helpers for audit log tests: events with chosen fields, written through `record_event`."""

import datetime
from unittest import mock

from django.test import RequestFactory

from tenants.audit import record_event
from tenants.models import AuditEvent

SOURCE_IP = "203.0.113.77"
USER_AGENT = "AuditTestBrowser/1.0"


def origin_request():
    """A request from SOURCE_IP with USER_AGENT, for events that record where they came from."""
    return RequestFactory().get("/", REMOTE_ADDR=SOURCE_IP, HTTP_USER_AGENT=USER_AGENT)


def add_event(tenant, action="test.recorded", *, at=None, **fields):
    """Append one event to `tenant`'s chain; `at` fixes its created_at (a UTC datetime)."""
    fields.setdefault("actor_type", AuditEvent.ActorType.SYSTEM)
    if at is None:
        return record_event(tenant, action, **fields)
    with mock.patch("tenants.audit.timezone.now", return_value=at):
        return record_event(tenant, action, **fields)


def add_events(tenant, count, action="test.recorded", **fields):
    return [
        add_event(tenant, action, details={"number": number}, **fields) for number in range(count)
    ]


def utc(year, month, day, hour=12):
    return datetime.datetime(year, month, day, hour, tzinfo=datetime.UTC)


def build_mixed_log(tenant):
    """Add seven events to `tenant` that differ in every filterable field; return them by name.

    Signing in records an event too, so tests sign in before calling this.
    """
    request = origin_request()
    events = {
        "user_created": add_event(
            tenant,
            "connection.created",
            actor_type=AuditEvent.ActorType.USER,
            actor_id="7",
            actor_label="alice@example.com",
            target_type="connection",
            target_id="conn-1",
            at=utc(2024, 1, 10),
            request=request,
        ),
        "user_revoked": add_event(
            tenant,
            "connection.revoked",
            actor_type=AuditEvent.ActorType.USER,
            actor_id="8",
            actor_label="bob@example.com",
            target_type="connection",
            target_id="conn-1",
            at=utc(2024, 1, 11),
            request=request,
        ),
        "site_called": add_event(
            tenant,
            "keap.called",
            actor_type=AuditEvent.ActorType.CLIENT_SITE,
            actor_id="site-1",
            actor_label="Shop",
            target_type="connection",
            target_id="conn-2",
            at=utc(2024, 1, 12),
        ),
        "site_denied": add_event(
            tenant,
            "scope.denied",
            actor_type=AuditEvent.ActorType.CLIENT_SITE,
            actor_id="site-1",
            actor_label="Shop",
            target_type="client_site",
            target_id="site-1",
            outcome=AuditEvent.Outcome.DENIED,
            at=utc(2024, 1, 12, 23),
        ),
        "refresh_failed": add_event(
            tenant,
            "token.refresh_failed",
            actor_type=AuditEvent.ActorType.SYSTEM,
            actor_label="scheduled task",
            target_type="connection",
            target_id="conn-2",
            outcome=AuditEvent.Outcome.FAILURE,
            at=utc(2024, 1, 13, 0),
        ),
        "operator": add_event(
            tenant,
            "operator.accessed",
            actor_type=AuditEvent.ActorType.OPERATOR,
            actor_id="99",
            actor_label="staff@example.com",
            target_type="tenant",
            target_id=str(tenant.public_id),
            at=utc(2024, 2, 1),
            request=request,
        ),
        # "connectionx" shares the text "connection" but not the prefix "connection.".
        "lookalike": add_event(
            tenant,
            "connectionx.created",
            actor_id="7",
            actor_label="alice@example.com",
            actor_type=AuditEvent.ActorType.USER,
            at=utc(2024, 2, 2),
        ),
    }
    return events
