"""Connect with Keap: the redirect to Keap, and the callback's state checks and code exchange."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from connector import oauth_state
from connector.models import Connection
from tests import factories
from tests.connector.conftest import TEST_CLIENT_ID
from tests.connector.test_views_connections import signed_in

CALLBACK = "connection_oauth_callback"


def start(client):
    """Press "Connect with Keap"; return the authorize URL's query."""
    response = client.post(reverse("connection_oauth_start"))
    assert response.status_code == 302
    return {key: values[0] for key, values in parse_qs(urlsplit(response.url).query).items()}


def consent(keap, client, query):
    """Approve the sandbox's consent page for `query`; return the callback query."""
    authorize = keap.control.authorization_url(
        TEST_CLIENT_ID, query["redirect_uri"], query["state"]
    )
    location = keap.control.authorize(authorize, keap.user["id"])
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def token_calls(keap):
    return [entry for entry in keap.control.request_log() if entry["path"] == "/token"]


@pytest.mark.django_db
def test_start_sends_the_owner_to_keap(client, owner, keap):
    signed_in(client, owner)

    query = start(client)

    assert query["client_id"] == TEST_CLIENT_ID
    assert query["response_type"] == "code"
    assert query["scope"] == "full"
    assert query["redirect_uri"] == "http://127.0.0.1:8000/connections/oauth/callback/"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["state"] in client.session[oauth_state.SESSION_KEY]


@pytest.mark.django_db
def test_start_says_when_oauth_is_off(client, owner, settings):
    settings.KEAP_CLIENT_SECRET = ""
    signed_in(client, owner)

    response = client.post(reverse("connection_oauth_start"))

    assert response.status_code == 404
    assert b"Connect with Keap is switched off" in response.content


@pytest.mark.django_db
def test_start_requires_mfa(client, owner, keap):
    signed_in(client, owner, mfa=False)

    assert client.post(reverse("connection_oauth_start")).status_code == 403


@pytest.mark.django_db
def test_start_is_403_for_read_only_member(client, readonly_member, keap):
    signed_in(client, readonly_member)

    assert client.post(reverse("connection_oauth_start")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_callback_connects_the_account(client, owner, keap, eager_tasks):
    signed_in(client, owner)
    reply = consent(keap, client, start(client))

    response = client.get(reverse(CALLBACK), reply)

    connection = Connection.objects.get(tenant=owner.tenant)
    assert response.status_code == 302
    assert response.url == connection.get_absolute_url()
    assert response["Referrer-Policy"] == "no-referrer"
    assert connection.method == Connection.Method.OAUTH
    assert connection.status == Connection.Status.ACTIVE
    assert connection.keap_tenant_id == "ab123.infusionsoft.com"
    assert [entry["status"] for entry in token_calls(keap)] == [200]
    created = factories.audit_events(owner.tenant, "connection.created")
    assert created[0].actor_id == str(owner.user.pk)


@pytest.mark.django_db
def test_callback_shows_cancelled_as_a_warning(client, owner, keap):
    signed_in(client, owner)
    query = start(client)

    response = client.get(
        reverse(CALLBACK), {"error": "access_denied", "state": query["state"]}, follow=True
    )

    assert b'class="message-warning"' in response.content
    assert b"Connecting to Keap was cancelled." in response.content
    assert token_calls(keap) == []
    assert not Connection.objects.filter(tenant=owner.tenant).exists()


def expire_states(client):
    session = client.session
    for entry in session[oauth_state.SESSION_KEY].values():
        entry["created"] = time.time() - oauth_state.STATE_LIFETIME_SECONDS - 1
    session.save()


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["missing", "wrong", "reused", "expired", "other_session"])
def test_callback_rejects_a_bad_state_before_calling_keap(client, owner, keap, case):
    signed_in(client, owner)
    reply = consent(keap, client, start(client))
    if case == "missing":
        del reply["state"]
    elif case == "wrong":
        reply["state"] = "not-the-state"
    elif case == "reused":
        client.get(reverse(CALLBACK), {"error": "access_denied", "state": reply["state"]})
    elif case == "expired":
        expire_states(client)
    elif case == "other_session":
        client = signed_in(Client(), factories.make_membership(owner.tenant, role="owner"))

    response = client.get(reverse(CALLBACK), reply, follow=True)

    assert response.status_code == 200
    assert b'class="message-error"' in response.content
    assert b"Start Connect with Keap again" in response.content
    assert token_calls(keap) == []
    assert not Connection.objects.filter(tenant=owner.tenant).exists()


@pytest.mark.django_db
def test_callback_rejects_a_state_from_another_tenant(client, owner, keap):
    other = factories.make_membership(role="owner", user=owner.user)
    signed_in(client, owner)
    reply = consent(keap, client, start(client))
    client.post(reverse("tenant_switch", args=[other.tenant.public_id]))

    response = client.get(reverse(CALLBACK), reply, follow=True)

    assert b"started for another tenant" in response.content
    assert token_calls(keap) == []


@pytest.mark.django_db
def test_callback_requires_login(client, keap):
    response = client.get(reverse(CALLBACK), {"state": "x", "code": "y"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert token_calls(keap) == []


@pytest.mark.django_db
def test_callback_is_403_after_role_drop(client, owner, keap):
    signed_in(client, owner)
    reply = consent(keap, client, start(client))
    owner.role = "viewer"
    owner.save()

    response = client.get(reverse(CALLBACK), reply)

    assert response.status_code == 403
    assert response["Referrer-Policy"] == "no-referrer"
    assert token_calls(keap) == []
