"""CSV and JSON Lines exports of the audit log: filters, redaction, escaping, streaming, audit."""

import csv
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from connector.actor import Actor
from tenants import audit_queries
from tenants.models import AuditEvent
from tests.audit.conftest import (
    SOURCE_IP,
    USER_AGENT,
    add_event,
    add_events,
    build_mixed_log,
    origin_request,
)
from tests.factories import login

CSV_URL = reverse("audit_export_csv")
JSONL_URL = reverse("audit_export_jsonl")


def read_csv(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def read_jsonl(response):
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


def exported_events(tenant):
    return list(AuditEvent.objects.filter(tenant=tenant, action="audit.exported"))


def test_it_exports_filtered_csv(client, owner):
    login(client, owner.user)
    log = build_mixed_log(owner.tenant)

    response = client.get(CSV_URL, {"action": "connection."})

    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="audit-{owner.tenant.public_id}-'
    )
    rows = read_csv(response)
    assert [int(row["sequence"]) for row in rows] == [
        log["user_revoked"].sequence,
        log["user_created"].sequence,
    ]
    assert rows[0]["action"] == "connection.revoked"
    assert rows[0]["actor_label"] == "bob@example.com"
    assert rows[0]["source_ip"] == SOURCE_IP
    assert rows[0]["user_agent"] == USER_AGENT
    assert json.loads(rows[0]["details"]) == {}
    assert rows[0]["created_at"] == "2024-01-11T12:00:00+00:00"


def test_it_exports_filtered_jsonl(client, owner):
    login(client, owner.user)
    log = build_mixed_log(owner.tenant)

    response = client.get(JSONL_URL, {"outcome": "failure"})

    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    rows = read_jsonl(response)
    assert len(rows) == 1
    assert rows[0]["sequence"] == log["refresh_failed"].sequence
    assert rows[0]["action"] == "token.refresh_failed"
    assert rows[0]["details"] == {}
    assert rows[0]["created_at"] == "2024-01-13T00:00:00+00:00"
    assert set(rows[0]) == set(audit_queries.PUBLIC_COLUMNS + audit_queries.ORIGIN_COLUMNS)


def test_it_exports_everything_without_filters(client, owner):
    login(client, owner.user)
    build_mixed_log(owner.tenant)
    before_export = list(
        AuditEvent.objects.filter(tenant=owner.tenant)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
    )

    rows = read_jsonl(client.get(JSONL_URL))

    assert [row["sequence"] for row in rows] == before_export


@pytest.mark.parametrize(("url", "reader"), [(CSV_URL, read_csv), (JSONL_URL, read_jsonl)])
@pytest.mark.parametrize("role_fixture", ["readonly_member", "member"])
def test_it_redacts_origin_for_lower_roles(client, request, role_fixture, url, reader):
    membership = request.getfixturevalue(role_fixture)
    login(client, membership.user)
    build_mixed_log(membership.tenant)

    response = client.get(url)
    body = b"".join(response.streaming_content)

    assert response.status_code == 200
    assert SOURCE_IP.encode() not in body
    assert USER_AGENT.encode() not in body
    assert b"source_ip" not in body
    assert b"user_agent" not in body
    rows = reader(client.get(url))
    assert {row["action"] for row in rows} >= {"connection.created", "operator.accessed"}
    assert "source_ip" not in rows[0]
    event = exported_events(membership.tenant)[-1]
    assert event.details["redacted"] is True


def test_it_escapes_formulas_in_csv(client, owner):
    login(client, owner.user)
    add_event(
        owner.tenant,
        "test.recorded",
        actor_type="user",
        actor_label='=HYPERLINK("http://127.0.0.1/x","click")',
        target_type="+cmd",
        target_id="@SUM(A1)",
        request_id="-2+3",
        details={"note": "=1+1"},
    )

    rows = read_csv(client.get(CSV_URL, {"action": "test.recorded"}))

    assert len(rows) == 1
    assert rows[0]["actor_label"] == '\'=HYPERLINK("http://127.0.0.1/x","click")'
    assert rows[0]["target_type"] == "'+cmd"
    assert rows[0]["target_id"] == "'@SUM(A1)"
    assert rows[0]["request_id"] == "'-2+3"
    # The details cell starts with "{", so it is safe as it is.
    assert json.loads(rows[0]["details"]) == {"note": "=1+1"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        ("", ""),
        (42, 42),
    ],
)
def test_escape_formula(value, expected):
    assert audit_queries.escape_formula(value) == expected


def test_it_keeps_jsonl_values_unescaped(client, owner):
    login(client, owner.user)
    add_event(owner.tenant, "test.recorded", actor_label="=1+1")

    rows = read_jsonl(client.get(JSONL_URL, {"action": "test.recorded"}))

    assert rows[0]["actor_label"] == "=1+1"


def test_it_audits_the_export(client, owner):
    login(client, owner.user)
    build_mixed_log(owner.tenant)

    response = client.get(
        CSV_URL, {"action": "connection.", "since": "2024-01-01"}, REMOTE_ADDR="198.51.100.9"
    )
    rows = read_csv(response)

    [event] = exported_events(owner.tenant)
    assert event.actor_type == "user"
    assert event.actor_id == str(owner.user.pk)
    assert event.actor_label == owner.user.email
    assert event.source_ip == "198.51.100.9"
    assert event.details == {
        "format": "csv",
        "filters": {"action": "connection.", "since": "2024-01-01"},
        "redacted": False,
    }
    # The export is a snapshot of the log before its own event.
    assert all(int(row["sequence"]) < event.sequence for row in rows)


def test_it_excludes_events_added_while_streaming(client, owner):
    login(client, owner.user)
    add_events(owner.tenant, 5)

    response = client.get(JSONL_URL)
    add_events(owner.tenant, 3, action="test.later")
    rows = read_jsonl(response)

    assert "test.later" not in {row["action"] for row in rows}
    assert len(rows) == 6  # the sign-in and five events


@pytest.mark.parametrize("url", [CSV_URL, JSONL_URL])
def test_it_rejects_bad_filters_without_auditing(client, owner, url):
    login(client, owner.user)

    response = client.get(url, {"outcome": "exploded"})

    assert response.status_code == 400
    assert response.streaming is False
    assert exported_events(owner.tenant) == []


@pytest.mark.parametrize("url", [CSV_URL, JSONL_URL])
def test_it_requires_login(client, url):
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("url", [CSV_URL, JSONL_URL])
def test_it_rejects_post(client, owner, url):
    login(client, owner.user)

    assert client.post(url).status_code == 405


def test_it_exports_only_own_tenant(client, owner, outsider):
    build_mixed_log(owner.tenant)
    login(client, outsider.user)

    rows = read_jsonl(client.get(JSONL_URL, {"tenant": str(owner.tenant.public_id)}))

    assert {row["action"] for row in rows} == {"login.succeeded"}
    assert exported_events(owner.tenant) == []
    assert len(exported_events(outsider.tenant)) == 1


def test_it_reads_in_keyset_chunks(client, owner, monkeypatch):
    login(client, owner.user)
    add_events(owner.tenant, 29, request=origin_request())
    monkeypatch.setattr(audit_queries, "EXPORT_CHUNK_SIZE", 7)

    response = client.get(JSONL_URL)
    with CaptureQueriesContext(connection) as queries:
        rows = read_jsonl(response)

    chunk_queries = [q["sql"] for q in queries if '"tenants_auditevent"' in q["sql"]]
    # 30 events (the sign-in and 29) in chunks of 7: four full chunks and one of 2.
    assert len(rows) == 30
    assert len(chunk_queries) == 5
    assert all("LIMIT 7" in sql and "OFFSET" not in sql for sql in chunk_queries)
    assert [row["sequence"] for row in rows] == list(range(30, 0, -1))


def test_it_ends_exactly_at_a_chunk_boundary(client, owner, monkeypatch):
    login(client, owner.user)
    add_events(owner.tenant, 13)
    monkeypatch.setattr(audit_queries, "EXPORT_CHUNK_SIZE", 7)

    rows = read_jsonl(client.get(JSONL_URL))

    assert [row["sequence"] for row in rows] == list(range(14, 0, -1))


@pytest.mark.django_db
def test_actor_label_is_the_email(owner):
    owner.user.username = "owner-handle"
    owner.user.save()

    actor = Actor.for_user(owner.user)

    assert actor.label == owner.user.email
