"""The connection pages: list, detail, connect by key, test, reconnect and revoke."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from connector.models import Connection, Credential
from tests import factories
from tests.connector.conftest import connect_api_key
from tests.connector.factories import fake_api_key, make_connection


def enable_totp(user):
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})


def signed_in(client, membership, *, mfa=True, seconds_ago=0):
    if mfa:
        enable_totp(membership.user)
    return factories.login(client, membership.user, seconds_ago=seconds_ago)


# --- List and detail ------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_works(client, owner, outsider):
    mine = make_connection(owner.tenant)
    theirs = make_connection(outsider.tenant)
    signed_in(client, owner)

    response = client.get(reverse("connection_list"))

    assert response.status_code == 200
    assert mine.get_absolute_url().encode() in response.content
    assert theirs.get_absolute_url().encode() not in response.content


@pytest.mark.django_db
def test_list_hides_oauth_button_when_off(client, owner, settings):
    settings.KEAP_CLIENT_ID = ""
    signed_in(client, owner)

    response = client.get(reverse("connection_list"))

    assert b"Connect with Keap" not in response.content
    assert reverse("connection_add_key").encode() in response.content


@pytest.mark.django_db
def test_list_shows_oauth_button_when_on(client, owner, settings):
    settings.KEAP_CLIENT_ID = "id"
    settings.KEAP_CLIENT_SECRET = "secret"
    signed_in(client, owner)

    response = client.get(reverse("connection_list"))

    assert b"Connect with Keap" in response.content


@pytest.mark.django_db
def test_list_requires_login(client):
    response = client.get(reverse("connection_list"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.django_db
def test_detail_works_for_read_only_member(client, readonly_member):
    key = fake_api_key()
    connection = make_connection(readonly_member.tenant, key=key)
    signed_in(client, readonly_member, mfa=False)

    response = client.get(connection.get_absolute_url())

    assert response.status_code == 200
    assert f"…{key[-4:]}".encode() in response.content
    assert key.encode() not in response.content
    assert b"Active" in response.content


@pytest.mark.django_db
def test_detail_is_404_for_outsider(client, owner, outsider):
    connection = make_connection(owner.tenant)
    signed_in(client, outsider)

    assert client.get(connection.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_detail_shows_reconnect_when_reauth_is_needed(client, owner):
    connection = make_connection(owner.tenant, status=Connection.Status.NEEDS_REAUTH)
    signed_in(client, owner)

    response = client.get(connection.get_absolute_url())

    assert b"Reconnect" in response.content
    assert reverse("connection_reconnect", args=[connection.public_id]).encode() in response.content


# --- Connect by key ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_add_key_works(client, owner, keap, eager_tasks):
    key = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])
    signed_in(client, owner)

    response = client.post(
        reverse("connection_add_key"), {"method": "pat", "key": f"  {key['key']}\n"}
    )

    connection = Connection.objects.get(tenant=owner.tenant)
    assert response.status_code == 302
    assert response.url == connection.get_absolute_url()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.created_by == owner.user
    page = client.get(response.url)
    assert b"Connected Keap account Acme Sandbox" in page.content
    assert key["key"].encode() not in page.content
    assert factories.audit_events(owner.tenant, "connection.created")[0].actor_id == str(
        owner.user.pk
    )


@pytest.mark.django_db
def test_add_key_page_explains_where_keys_come_from(client, owner):
    signed_in(client, owner)

    response = client.get(reverse("connection_add_key"))

    assert response.status_code == 200
    assert b"Settings \xe2\x86\x92 API Settings" in response.content
    assert b"only once" in response.content


@pytest.mark.django_db
def test_add_key_rejects_a_malformed_key(client, owner):
    signed_in(client, owner)

    response = client.post(
        reverse("connection_add_key"), {"method": "pat", "key": "KeapAK-oops secret"}
    )

    assert response.status_code == 400
    assert b"That is not a complete Keap personal access token" in response.content
    assert b"KeapAK-oops" not in response.content
    assert not Connection.objects.filter(tenant=owner.tenant).exists()


@pytest.mark.django_db(transaction=True)
def test_add_key_rejects_a_key_keap_refuses(client, owner, keap, eager_tasks):
    key = fake_api_key()
    signed_in(client, owner)

    response = client.post(reverse("connection_add_key"), {"method": "pat", "key": key})

    assert response.status_code == 400
    assert b"Keap rejected the key or token" in response.content
    assert key.encode() not in response.content
    assert not Connection.objects.filter(tenant=owner.tenant).exists()
    assert factories.audit_events(owner.tenant, "connection.verification_failed")


@pytest.mark.django_db
def test_add_key_requires_mfa(client, owner):
    signed_in(client, owner, mfa=False)

    response = client.post(reverse("connection_add_key"), {"method": "pat", "key": fake_api_key()})

    assert response.status_code == 403
    assert reverse("mfa_activate_totp").encode() in response.content
    assert not Connection.objects.filter(tenant=owner.tenant).exists()


@pytest.mark.django_db
def test_add_key_is_403_for_read_only_member(client, readonly_member):
    signed_in(client, readonly_member)

    response = client.post(reverse("connection_add_key"), {"method": "pat", "key": fake_api_key()})

    assert response.status_code == 403


@pytest.mark.django_db
def test_add_key_is_403_for_member(client, member):
    signed_in(client, member)

    assert client.get(reverse("connection_add_key")).status_code == 403


@pytest.mark.django_db
def test_add_key_requires_login(client):
    response = client.post(reverse("connection_add_key"), {"method": "pat", "key": fake_api_key()})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- Test connection ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_check_works(client, member, keap, eager_tasks):
    connection, _ = connect_api_key(keap, member.tenant)
    signed_in(client, member, mfa=False)

    response = client.post(reverse("connection_check", args=[connection.public_id]), follow=True)

    assert b"Keap accepted the connection." in response.content
    connection.refresh_from_db()
    assert connection.last_checked_at is not None
    event = factories.audit_events(member.tenant, "connection.checked")[-1]
    assert event.actor_id == str(member.user.pk)
    assert event.outcome == "success"


@pytest.mark.django_db(transaction=True)
def test_check_reports_a_deleted_key(client, member, keap, eager_tasks):
    connection, key = connect_api_key(keap, member.tenant)
    keap.control.delete_api_key(key["key_id"])
    signed_in(client, member, mfa=False)

    response = client.post(reverse("connection_check", args=[connection.public_id]), follow=True)

    assert b"The test failed. Keap rejected the key or token." in response.content
    assert b"Needs reconnecting" in response.content


@pytest.mark.django_db
def test_check_is_403_for_read_only_member(client, readonly_member):
    connection = make_connection(readonly_member.tenant)
    signed_in(client, readonly_member)

    assert client.post(reverse("connection_check", args=[connection.public_id])).status_code == 403


@pytest.mark.django_db
def test_check_is_404_for_outsider(client, owner, outsider):
    connection = make_connection(owner.tenant)
    signed_in(client, outsider)

    assert client.post(reverse("connection_check", args=[connection.public_id])).status_code == 404


# --- Reconnect --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_reconnect_works_with_a_new_key(client, owner, keap, eager_tasks):
    connection, _ = connect_api_key(keap, owner.tenant)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.NEEDS_REAUTH)
    new_key = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])
    signed_in(client, owner)

    response = client.post(
        reverse("connection_reconnect", args=[connection.public_id]), {"key": new_key["key"]}
    )

    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert Credential.objects.get(connection=connection).key_hint == new_key["key"][-4:]


@pytest.mark.django_db
def test_reconnect_rejects_bad_input(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.post(
        reverse("connection_reconnect", args=[connection.public_id]), {"key": "nope"}
    )

    assert response.status_code == 400
    assert not Credential.objects.filter(connection=connection, is_pending=True).exists()


@pytest.mark.django_db
def test_reconnect_requires_mfa(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner, mfa=False)

    response = client.get(reverse("connection_reconnect", args=[connection.public_id]))

    assert response.status_code == 403


@pytest.mark.django_db
def test_reconnect_is_404_for_outsider_before_mfa(client, owner, outsider):
    connection = make_connection(owner.tenant)
    signed_in(client, outsider, mfa=False)

    response = client.get(reverse("connection_reconnect", args=[connection.public_id]))

    assert response.status_code == 404


# --- Revoke ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_revoke_page_says_where_to_delete_the_key_in_keap(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)

    response = client.get(reverse("connection_revoke", args=[connection.public_id]))

    assert response.status_code == 200
    assert b"Settings \xe2\x86\x92 API Settings" in response.content
    assert b"several minutes" in response.content
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE


@pytest.mark.django_db
def test_revoke_works(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner)
    url = reverse("connection_revoke", args=[connection.public_id])

    response = client.post(url)
    again = client.post(url, follow=True)

    assert response.status_code == 302
    assert response.url == reverse("connection_list")
    connection.refresh_from_db()
    assert connection.status == Connection.Status.REVOKED
    assert not Credential.objects.filter(connection=connection).exists()
    events = factories.audit_events(owner.tenant, "connection.revoked")
    assert len(events) == 1
    assert events[0].actor_id == str(owner.user.pk)
    assert b"was already revoked" in again.content


@pytest.mark.django_db
def test_revoke_requires_reauthentication(client, owner):
    connection = make_connection(owner.tenant)
    signed_in(client, owner, seconds_ago=16 * 60)

    response = client.post(reverse("connection_revoke", args=[connection.public_id]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE


@pytest.mark.django_db
def test_revoke_is_403_for_read_only_member(client, readonly_member):
    connection = make_connection(readonly_member.tenant)
    signed_in(client, readonly_member)

    response = client.post(reverse("connection_revoke", args=[connection.public_id]))

    assert response.status_code == 403
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE


@pytest.mark.django_db
def test_revoke_is_404_for_outsider(client, owner, outsider):
    connection = make_connection(owner.tenant)
    signed_in(client, outsider)

    response = client.post(reverse("connection_revoke", args=[connection.public_id]))

    assert response.status_code == 404
    assert Credential.objects.filter(connection=connection).exists()


@pytest.mark.django_db
def test_revoke_requires_login(client, owner):
    connection = make_connection(owner.tenant)

    response = client.post(reverse("connection_revoke", args=[connection.public_id]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
