"""Operator access: admin and portal pages that show a tenant's data record `operator.accessed`
in that tenant's log, and the admin never edits audit rows or shows secrets."""

import pytest
from django.urls import reverse

from connector.models import Connection, Credential
from tenants.models import AuditEvent, Invitation, Membership, Tenant
from tests import factories
from tests.audit.conftest import add_events
from tests.connector.factories import make_connection, make_oauth_connection

ACTION = "operator.accessed"


@pytest.fixture
def operator(db):
    user = factories.make_user("staff@example.com")
    user.is_staff = True
    user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def operator_events(tenant):
    return list(AuditEvent.objects.filter(tenant=tenant, action=ACTION).order_by("sequence"))


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_it_records_one_event_per_tenant_on_changelist(operator_client, operator, tenant, outsider):
    make_connection(tenant)
    make_connection(tenant)
    make_connection(outsider.tenant)
    untouched = factories.make_tenant("No connections")

    response = operator_client.get(admin_url(Connection, "changelist"))

    assert response.status_code == 200
    [in_tenant] = operator_events(tenant)
    [in_outsider] = operator_events(outsider.tenant)
    assert operator_events(untouched) == []
    assert in_tenant.actor_type == AuditEvent.ActorType.OPERATOR
    assert in_tenant.actor_id == str(operator.pk)
    assert in_tenant.actor_label == "staff@example.com"
    assert in_tenant.source_ip == "127.0.0.1"
    assert in_tenant.details == {
        "via": "admin",
        "view": "changelist",
        "model": "connector.connection",
        "rows": 2,
    }
    assert in_outsider.details["rows"] == 1


def test_it_records_only_tenants_on_filtered_changelist(operator_client, tenant, outsider):
    make_connection(tenant, status=Connection.Status.REVOKED)
    make_connection(outsider.tenant)

    operator_client.get(admin_url(Connection, "changelist"), {"status__exact": "revoked"})

    assert len(operator_events(tenant)) == 1
    assert operator_events(outsider.tenant) == []


def test_it_records_change_view(operator_client, tenant, outsider):
    connection = make_connection(tenant)

    response = operator_client.get(admin_url(Connection, "change", connection.pk))

    assert response.status_code == 200
    [event] = operator_events(tenant)
    assert event.target_type == "connection"
    assert event.target_id == str(connection.public_id)
    assert event.details == {"via": "admin", "view": "change", "model": "connector.connection"}
    assert operator_events(outsider.tenant) == []


def test_it_records_history_view(operator_client, tenant):
    membership = factories.make_membership(tenant, role=Membership.Role.ADMIN)

    response = operator_client.get(admin_url(Membership, "history", membership.pk))

    assert response.status_code == 200
    [event] = operator_events(tenant)
    assert event.details["view"] == "history"
    assert event.target_id == str(membership.public_id)


def test_it_records_nothing_for_missing_object(operator_client, tenant):
    response = operator_client.get(admin_url(Connection, "change", 999999))

    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=ACTION).count() == 0


@pytest.mark.parametrize(
    ("model", "build"),
    [
        (Tenant, lambda tenant: tenant),
        (Membership, lambda tenant: factories.make_membership(tenant)),
        (Invitation, lambda tenant: factories.make_invitation(tenant)),
        (Connection, lambda tenant: make_connection(tenant)),
        (Credential, lambda tenant: make_connection(tenant).credentials.get()),
    ],
)
def test_it_records_every_registered_model(operator_client, tenant, model, build):
    obj = build(tenant)

    changelist = operator_client.get(admin_url(model, "changelist"))
    change = operator_client.get(admin_url(model, "change", obj.pk))

    assert changelist.status_code == 200
    assert change.status_code == 200
    views = [event.details["view"] for event in operator_events(tenant)]
    assert views == ["changelist", "change"]
    assert {event.details["model"] for event in operator_events(tenant)} == {
        model._meta.label_lower
    }


def test_it_records_audit_event_pages(operator_client, tenant):
    add_events(tenant, 3)
    event = AuditEvent.objects.filter(tenant=tenant).first()

    operator_client.get(admin_url(AuditEvent, "changelist"))
    operator_client.get(admin_url(AuditEvent, "change", event.pk))

    views = [e.details["view"] for e in operator_events(tenant)]
    assert views == ["changelist", "change"]


def test_it_rejects_non_staff_in_admin(client, owner):
    make_connection(owner.tenant)
    client.force_login(owner.user)

    response = client.get(admin_url(Connection, "changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert operator_events(owner.tenant) == []


# --- Audit rows are read-only in the admin, superusers included ------------------------------


@pytest.fixture
def audit_row(tenant):
    add_events(tenant, 2)
    return AuditEvent.objects.filter(tenant=tenant).order_by("sequence").first()


def test_it_rejects_adding_audit_events(operator_client, audit_row):
    response = operator_client.post(admin_url(AuditEvent, "add"), {"action": "forged"})

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_it_rejects_changing_audit_events(operator_client, audit_row):
    url = admin_url(AuditEvent, "change", audit_row.pk)

    page = operator_client.get(url)
    response = operator_client.post(url, {"action": "edited", "outcome": "failure"})

    assert page.status_code == 200
    assert b'name="action"' not in page.content
    assert b"Save" not in page.content
    assert response.status_code == 403
    audit_row.refresh_from_db()
    assert audit_row.action == "test.recorded"


def test_it_rejects_deleting_audit_events(operator_client, audit_row):
    url = admin_url(AuditEvent, "delete", audit_row.pk)

    page = operator_client.get(url)
    response = operator_client.post(url, {"post": "yes"})

    assert page.status_code == 403
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=audit_row.pk).exists()


def test_it_offers_no_bulk_delete_of_audit_events(operator_client, audit_row):
    url = admin_url(AuditEvent, "changelist")

    page = operator_client.get(url)
    operator_client.post(
        url, {"action": "delete_selected", "_selected_action": [audit_row.pk], "post": "yes"}
    )

    assert b"delete_selected" not in page.content
    assert AuditEvent.objects.filter(pk=audit_row.pk).exists()


@pytest.mark.parametrize("model", [Tenant, Membership, Invitation, Connection, Credential])
def test_it_makes_tenant_data_read_only(operator_client, tenant, model):
    assert operator_client.get(admin_url(model, "add")).status_code == 403


# --- No secrets on admin pages ---------------------------------------------------------------


def test_it_shows_no_secret_on_credential_pages(operator_client, tenant):
    key = "KeapAK-" + "5ec7e7" * 8 + "99"
    connection = make_connection(tenant, key=key)
    oauth = make_oauth_connection(
        tenant, access_token="access-" + "a1" * 20, refresh_token="refresh-" + "b2" * 20
    )
    credentials = Credential.objects.filter(tenant=tenant)
    ciphertexts = [
        bytes(value)
        for credential in credentials
        for value in (
            credential.api_key_ciphertext,
            credential.access_token_ciphertext,
            credential.refresh_token_ciphertext,
        )
        if value
    ]

    pages = [
        operator_client.get(admin_url(Credential, "changelist")),
        operator_client.get(admin_url(Connection, "changelist")),
        operator_client.get(admin_url(Connection, "change", connection.pk)),
        operator_client.get(admin_url(Connection, "change", oauth.pk)),
    ]
    pages += [operator_client.get(admin_url(Credential, "change", c.pk)) for c in credentials]

    for page in pages:
        assert page.status_code == 200
        assert key.encode() not in page.content
        assert b"a1a1a1a1" not in page.content
        assert b"b2b2b2b2" not in page.content
        assert b"ciphertext" not in page.content.lower()
        for ciphertext in ciphertexts:
            assert ciphertext[5:21].hex().encode() not in page.content
    assert key[-4:].encode() in pages[0].content


# --- The portal's operator view --------------------------------------------------------------


def operator_log_url(tenant):
    return reverse("operator_audit_log", args=[tenant.public_id])


def test_it_records_portal_operator_view(operator_client, operator, tenant):
    add_events(tenant, 3)

    response = operator_client.get(operator_log_url(tenant))

    assert response.status_code == 200
    assert len(response.context["page"].events) == 3
    [event] = operator_events(tenant)
    assert event.actor_type == AuditEvent.ActorType.OPERATOR
    assert event.actor_id == str(operator.pk)
    assert event.target_type == "tenant"
    assert event.target_id == str(tenant.public_id)
    assert event.details == {"via": "portal", "view": "audit_log"}


def test_it_records_each_portal_page(operator_client, tenant):
    add_events(tenant, 60)

    first = operator_client.get(operator_log_url(tenant))
    operator_client.get(operator_log_url(tenant), {"before": first.context["page"].older_before})

    assert len(operator_events(tenant)) == 2


def test_it_hides_portal_operator_view_from_members(client, owner):
    client.force_login(owner.user)
    before = AuditEvent.objects.filter(tenant=owner.tenant).count()

    response = client.get(operator_log_url(owner.tenant))

    assert response.status_code == 404
    assert AuditEvent.objects.filter(tenant=owner.tenant).count() == before


def test_it_returns_404_for_missing_tenant(operator_client, tenant):
    url = reverse("operator_audit_log", args=["00000000-0000-0000-0000-000000000001"])

    assert operator_client.get(url).status_code == 404


def test_it_requires_login_for_operator_view(client, tenant):
    response = client.get(operator_log_url(tenant))

    assert response.status_code == 302


def test_it_rejects_inactive_staff(client, operator, tenant):
    client.force_login(operator)
    operator.is_active = False
    operator.save(update_fields=["is_active"])

    response = client.get(operator_log_url(tenant))

    assert response.status_code in (302, 404)
    assert operator_events(tenant) == []
