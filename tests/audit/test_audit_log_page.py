"""The audit log page: roles and redaction, tenant isolation, filters and keyset pagination."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tenants.models import AuditEvent
from tests import factories
from tests.audit.conftest import (
    SOURCE_IP,
    USER_AGENT,
    add_event,
    add_events,
    build_mixed_log,
    origin_request,
)
from tests.factories import login

URL = reverse("audit_log")


def shown_sequences(response):
    return [event["sequence"] for event in response.context["page"].events]


def all_sequences(tenant):
    """Return every sequence of `tenant`'s log, newest first."""
    events = AuditEvent.objects.filter(tenant=tenant).order_by("-sequence")
    return list(events.values_list("sequence", flat=True))


def test_it_works_for_owner(client, owner):
    login(client, owner.user)
    build_mixed_log(owner.tenant)

    response = client.get(URL)

    assert response.status_code == 200
    assert shown_sequences(response) == all_sequences(owner.tenant)
    assert len(shown_sequences(response)) == 8  # the sign-in and the seven events
    assert b"connection.revoked" in response.content
    assert b"alice@example.com" in response.content
    assert SOURCE_IP.encode() in response.content
    assert USER_AGENT.encode() in response.content


def test_it_works_for_admin(client, admin):
    login(client, admin.user)
    build_mixed_log(admin.tenant)

    response = client.get(URL)

    assert response.status_code == 200
    assert shown_sequences(response) == all_sequences(admin.tenant)
    assert SOURCE_IP.encode() in response.content


@pytest.mark.parametrize("role_fixture", ["readonly_member", "member"])
def test_it_hides_origin_from_lower_roles(client, request, role_fixture):
    membership = request.getfixturevalue(role_fixture)
    login(client, membership.user)
    build_mixed_log(membership.tenant)

    response = client.get(URL)

    assert response.status_code == 200
    assert shown_sequences(response) == all_sequences(membership.tenant)
    assert b"connection.revoked" in response.content
    assert SOURCE_IP.encode() not in response.content
    assert USER_AGENT.encode() not in response.content
    assert "source_ip" not in response.context["page"].events[0]
    assert "user_agent" not in response.context["page"].events[0]


def test_it_requires_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_shows_outsider_only_own_tenant(client, owner, outsider):
    build_mixed_log(owner.tenant)
    add_event(outsider.tenant, "globex.only", actor_label="globex-user")
    login(client, outsider.user)

    response = client.get(URL, {"tenant": str(owner.tenant.public_id)})

    assert response.status_code == 200
    assert b"globex.only" in response.content
    assert b"connection.revoked" not in response.content
    assert b"alice@example.com" not in response.content
    assert response.context["tenant"] == outsider.tenant


def test_it_rejects_post(client, owner):
    login(client, owner.user)

    assert client.post(URL).status_code == 405


@pytest.mark.parametrize(
    "query",
    [
        {"before": "abc"},
        {"before": "0"},
        {"after": "-1"},
        {"before": "5", "after": "2"},
        {"outcome": "exploded"},
        {"actor_type": "robot"},
        {"since": "2024-13-01"},
        {"since": "yesterday"},
        {"since": "2024-02-01", "until": "2024-01-01"},
        {"action": "a" * 65},
    ],
)
def test_it_rejects_bad_input(client, owner, query):
    login(client, owner.user)
    build_mixed_log(owner.tenant)

    response = client.get(URL, query)

    assert response.status_code == 400
    assert response.context["page"] is None
    assert b"connection.revoked" not in response.content


# Each filter, and the names of the mixed_log events it must return.
FILTER_CASES = [
    ({"actor_type": "client_site"}, {"site_called", "site_denied"}),
    ({"actor_type": "operator"}, {"operator"}),
    ({"actor": "7"}, {"user_created", "lookalike"}),
    ({"actor": "bob@example.com"}, {"user_revoked"}),
    ({"actor": "Shop", "actor_type": "client_site"}, {"site_called", "site_denied"}),
    ({"action": "connection.revoked"}, {"user_revoked"}),
    ({"action": "connection."}, {"user_created", "user_revoked"}),
    ({"action": "connection"}, set()),
    (
        {"target_type": "connection"},
        {"user_created", "user_revoked", "site_called", "refresh_failed"},
    ),
    ({"target_id": "conn-2"}, {"site_called", "refresh_failed"}),
    ({"target_type": "client_site", "target_id": "site-1"}, {"site_denied"}),
    ({"outcome": "failure"}, {"refresh_failed"}),
    ({"outcome": "denied"}, {"site_denied"}),
    (
        {"outcome": "success", "until": "2025-01-01"},
        {"user_created", "user_revoked", "site_called", "operator", "lookalike"},
    ),
    # Days are whole UTC days: 2024-01-12 ends at 23:59:59.999999.
    ({"since": "2024-01-12", "until": "2024-01-12"}, {"site_called", "site_denied"}),
    ({"since": "2024-01-13", "until": "2024-12-31"}, {"refresh_failed", "operator", "lookalike"}),
    ({"until": "2024-01-10"}, {"user_created"}),
    ({"action": "connection.", "actor": "8"}, {"user_revoked"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES)
def test_it_filters(client, owner, query, expected):
    # Signing in first keeps its own event (created now, by this user) apart from the log,
    # which is all in 2024 and uses other actor ids.
    login(client, owner.user)
    mixed_log = build_mixed_log(owner.tenant)

    response = client.get(URL, query)

    assert response.status_code == 200
    expected_sequences = sorted((mixed_log[name].sequence for name in expected), reverse=True)
    assert shown_sequences(response) == expected_sequences


def test_it_treats_like_wildcards_literally(client, owner):
    build_mixed_log(owner.tenant)
    add_event(owner.tenant, "conn%ction.created")
    login(client, owner.user)

    response = client.get(URL, {"action": "conn%ction."})

    assert [e["action"] for e in response.context["page"].events] == ["conn%ction.created"]


def collect_pages(client, query=None):
    """Follow "older" links from the first page; return the sequences of each page."""
    pages = []
    params = dict(query or {})
    while True:
        response = client.get(URL, params)
        assert response.status_code == 200
        page = response.context["page"]
        pages.append([event["sequence"] for event in page.events])
        if page.older_before is None:
            return pages
        params = {**(query or {}), "before": page.older_before}


def test_it_pages_through_every_event_once(client, owner):
    login(client, owner.user)
    add_events(owner.tenant, 119)

    pages = collect_pages(client)

    assert [len(page) for page in pages] == [50, 50, 20]
    flat = [sequence for page in pages for sequence in page]
    assert flat == list(range(120, 0, -1))
    assert flat == all_sequences(owner.tenant)


def test_it_pages_a_filtered_log(client, owner):
    login(client, owner.user)
    for number in range(1, 130):
        outcome = AuditEvent.Outcome.FAILURE if number % 2 else AuditEvent.Outcome.SUCCESS
        add_event(owner.tenant, "test.recorded", outcome=outcome)

    pages = collect_pages(client, {"outcome": "failure"})

    assert [len(page) for page in pages] == [50, 15]
    flat = [sequence for page in pages for sequence in page]
    assert flat == list(range(130, 0, -2))


def test_it_pages_back_to_newer_events(client, owner):
    login(client, owner.user)
    add_events(owner.tenant, 119)
    second = client.get(URL, {"before": 71}).context["page"]

    newer = client.get(URL, {"after": second.newer_after}).context["page"]

    assert [e["sequence"] for e in second.events] == list(range(70, 20, -1))
    assert [e["sequence"] for e in newer.events] == list(range(120, 70, -1))
    assert newer.newer_after is None
    assert newer.older_before == 71


def test_it_shows_no_newer_link_on_first_page(client, owner):
    login(client, owner.user)
    add_events(owner.tenant, 3)

    page = client.get(URL).context["page"]

    assert page.newer_after is None
    assert page.older_before is None


def count_page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), len(response.context["page"].events)


def test_it_keeps_query_count_constant(client, owner, django_assert_num_queries):
    request = origin_request()
    login(client, owner.user)
    for number in range(9):
        add_event(owner.tenant, actor_type="user", actor_id=number, request=request)
    baseline, shown = count_page_queries(client)
    assert shown == 10

    for number in range(40):
        add_event(owner.tenant, actor_type="user", actor_id=number, request=request)
    with django_assert_num_queries(baseline):
        response = client.get(URL)

    assert len(response.context["page"].events) == 50


def test_it_reads_the_page_in_one_query(client, owner):
    add_events(owner.tenant, 60)
    login(client, owner.user)

    with CaptureQueriesContext(connection) as queries:
        client.get(URL, {"action": "test."})

    event_queries = [q["sql"] for q in queries if '"tenants_auditevent"' in q["sql"]]
    assert len(event_queries) == 1
    assert "OFFSET" not in event_queries[0]
    assert "LIMIT 51" in event_queries[0]


def test_it_shows_viewers_no_origin_in_query(client, readonly_member):
    add_event(readonly_member.tenant, request=origin_request())
    login(client, readonly_member.user)

    with CaptureQueriesContext(connection) as queries:
        client.get(URL)

    event_queries = [q["sql"] for q in queries if '"tenants_auditevent"' in q["sql"]]
    assert event_queries
    assert all('"source_ip"' not in sql and '"user_agent"' not in sql for sql in event_queries)


def test_it_shows_message_when_nothing_matches(client):
    membership = factories.make_membership(factories.make_tenant(), role="owner")
    login(client, membership.user)

    response = client.get(URL, {"action": "nothing.matches"})

    assert response.status_code == 200
    assert shown_sequences(response) == []
    assert b"No events match these filters." in response.content
