"""No secret reaches an audit event: the main actions of each area run with canary secrets and
every stored audit row is searched for them, raw and encoded."""

import base64
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from config.celery import app as celery_app
from connector import actions, sites
from connector.actor import Actor
from connector.keap import client as keap_client
from connector.keap import oauth
from connector.keap.errors import ConnectorError
from connector.keyformats import SITE_KEY_PREFIX
from connector.models import Connection
from tenants.models import AuditEvent, Membership
from tests import canaries, factories
from tests.connector.conftest import connect_oauth, expire_access_token, oauth_tokens
from tests.connector.factories import make_oauth_connection

CLIENT_ID = "portal-canary-client"
ME_URL = "/api/v1/me"


@pytest.fixture
def eager_tasks():
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def keap(keap_settings, keap_sandbox, settings):
    """A sandbox account whose OAuth client secret is a canary."""
    settings.KEAP_CLIENT_ID = CLIENT_ID
    settings.KEAP_CLIENT_SECRET = canaries.CANARY_CLIENT_SECRET
    keap_sandbox.create_oauth_client(
        [oauth.redirect_uri()], client_id=CLIENT_ID, client_secret=canaries.CANARY_CLIENT_SECRET
    )
    account = keap_sandbox.create_account("ab123", "Acme Sandbox")
    user = keap_sandbox.create_user("ab123", "kay.owner@example.com", "Kay", "Owner", is_admin=True)
    return SimpleNamespace(control=keap_sandbox, account=account, user=user)


def sandbox_secrets(keap):
    """Every key, token and code the sandbox issued during the test, by a descriptive name."""
    state = keap.control.server.state
    issued = {
        "api key": [api_key.key for api_key in state.api_keys.values()],
        "access token": [token.token for token in state.access_tokens.values()],
        "refresh token": [token.token for token in state.refresh_tokens.values()],
        "authorization code": [code.code for code in state.authorization_codes.values()],
    }
    return {
        f"sandbox {kind} #{number}": value
        for kind, values in issued.items()
        for number, value in enumerate(values)
    }


def audit_haystack():
    """Every column of every audit event, as one block of bytes."""
    rows = AuditEvent.objects.order_by("tenant_id", "sequence").values()
    return "\n".join(json.dumps(row, default=str, ensure_ascii=False) for row in rows).encode()


def connect_through_portal(client, key):
    return client.post(reverse("connection_add_key"), {"method": "pat", "key": key})


def run_connection_actions(client, keap, owner):
    """PAT connect (good, unknown and malformed keys), OAuth connect, refresh, failed refresh."""
    pat = keap.control.create_api_key("ab123", "PAT", user_id=keap.user["id"])
    assert connect_through_portal(client, pat["key"]).status_code == 302
    assert connect_through_portal(client, canaries.CANARY_PAT).status_code == 400
    assert connect_through_portal(client, "Key " + canaries.CANARY_SAK).status_code == 400
    pat_connection = Connection.objects.get(tenant=owner.tenant, method=Connection.Method.PAT)

    actor = Actor.for_user(owner.user)
    oauth_connection = connect_oauth(keap, owner.tenant, user=owner.user)
    # A reconnect stores a second grant whose tokens the sandbox issued too.
    actions.do_add_pending_oauth(
        owner.tenant, tokens=oauth_tokens(keap), actor=actor, reconnect=oauth_connection
    )
    expire_access_token(oauth_connection)
    keap_client.get_userinfo(oauth_connection, actor=actor)
    actions.do_check_connection(pat_connection, actor=actor)

    # Tokens Keap never issued: the call gets 401, the refresh gets 400, the connection is
    # marked for reconnecting.
    rejected = make_oauth_connection(
        owner.tenant,
        access_token=canaries.CANARY_ACCESS_TOKEN,
        refresh_token=canaries.CANARY_REFRESH_TOKEN,
    )
    with pytest.raises(ConnectorError):
        keap_client.get_userinfo(rejected, actor=actor)
    return pat_connection


def run_site_key_actions(client, owner, pat_connection):
    """Create, use, reject, rotate and revoke site keys, through the client API where it can."""
    actor = Actor.for_user(owner.user)
    issued = sites.do_create_site(
        owner.tenant,
        name="Canary shop",
        connection=pat_connection,
        scopes=["contacts:read"],
        actor=actor,
    )
    lookup_id = issued.site_key.lookup_id
    wrong_key = f"{SITE_KEY_PREFIX}{lookup_id}_{canaries.CANARY_SITE_KEY_SECRET}"

    assert client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}").status_code == 200
    assert client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {wrong_key}").status_code == 401
    # A site that puts its key in the URL by mistake.
    client.get(f"{ME_URL}?key={wrong_key}", HTTP_AUTHORIZATION=f"Bearer {wrong_key}")

    rotated = sites.do_rotate_site_key(issued.site_key, overlap=timedelta(0), actor=actor)
    assert client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {issued.raw_key}").status_code == 401
    sites.do_revoke_site_key(rotated.site_key, actor=actor)
    return {"site key": issued.raw_key, "rotated site key": rotated.raw_key}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_keeps_canary_secrets_out_of_audit_events(client, keap, eager_tasks):
    owner = factories.make_membership(role=Membership.Role.OWNER)
    Authenticator.objects.create(
        user=owner.user, type=Authenticator.Type.TOTP, data={"secret": "x"}
    )
    factories.login(client, owner.user)

    pat_connection = run_connection_actions(client, keap, owner)
    site_keys = run_site_key_actions(client, owner, pat_connection)
    # The log page and an export write events of their own.
    client.get(reverse("audit_log"))
    b"".join(client.get(reverse("audit_export_csv")).streaming_content)

    actions_seen = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "connection.created",
        "connection.verification_failed",
        "connection.reconnected",
        "connection.checked",
        "connection.needs_reauth",
        "token.refreshed",
        "token.refresh_failed",
        "site_key.created",
        "site_key.rejected",
        "site_key.rotated",
        "site_key.revoked",
        "audit.exported",
    } <= actions_seen
    secrets = {
        **{f"canary {number}": value for number, value in enumerate(canaries.CANARIES)},
        **sandbox_secrets(keap),
        **site_keys,
    }
    assert len(sandbox_secrets(keap)) >= 6
    assert canaries.find_leaks(audit_haystack(), secrets) == []


def test_it_detects_an_encoded_canary():
    secret = canaries.CANARY_ACCESS_TOKEN
    for prefix in ("", "x", "xy"):
        leaked = base64.b64encode((prefix + secret + "tail").encode())
        haystack = json.dumps({"details": {"blob": leaked.decode()}}).encode()

        assert canaries.find_leaks(haystack, {"token": secret}) != []


def test_it_detects_url_encoded_canary():
    haystack = b"/callback?code=" + canaries.forms(canaries.CANARY_CLIENT_SECRET)["url-encoded"]

    assert canaries.find_leaks(haystack, {"secret": canaries.CANARY_CLIENT_SECRET}) == [
        "secret (raw)",
        "secret (url-encoded)",
    ]


def test_it_finds_nothing_in_clean_text():
    haystack = b'{"action": "connection.created", "details": {"method": "pat"}}'

    assert canaries.find_leaks(haystack, {"pat": canaries.CANARY_PAT}) == []


def test_it_rejects_too_short_secret():
    with pytest.raises(ValueError, match="too short"):
        canaries.forms("pat-1")
