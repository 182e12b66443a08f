"""Fixtures for connector tests: a Keap sandbox with an account, a user and the portal's OAuth
client, and Celery tasks run in-process."""

from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from config.celery import app as celery_app
from connector import actions
from connector.actor import Actor
from connector.keap import oauth
from connector.models import Connection, Credential

TEST_CLIENT_ID = "portal-test-client"
TEST_CLIENT_SECRET = "portal-test-client-secret-0123456789"


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the calling process, as soon as they are queued."""
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def keap(keap_settings, keap_sandbox, settings):
    """A sandbox account `ab123` with an admin user and the portal's OAuth client."""
    settings.KEAP_CLIENT_ID = TEST_CLIENT_ID
    settings.KEAP_CLIENT_SECRET = TEST_CLIENT_SECRET
    keap_sandbox.create_oauth_client(
        [oauth.redirect_uri()], client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET
    )
    account = keap_sandbox.create_account("ab123", "Acme Sandbox")
    user = keap_sandbox.create_user("ab123", "kay.owner@example.com", "Kay", "Owner", is_admin=True)
    return SimpleNamespace(control=keap_sandbox, account=account, user=user)


def oauth_tokens(keap, user_id=None):
    """Sign in to the sandbox's consent page and exchange the code; return the TokenSet."""
    verifier, challenge = oauth.new_pkce_pair()
    location = keap.control.authorize(
        oauth.authorize_url("test-state", challenge), user_id or keap.user["id"]
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    return oauth.exchange_code(code, verifier)


def connect_oauth(keap, tenant, user=None):
    """Create an active OAuth connection through the same steps the portal takes."""
    actor = Actor.for_user(user) if user else Actor("system")
    credential = actions.do_add_pending_oauth(tenant, tokens=oauth_tokens(keap), actor=actor)
    # With eager tasks the check already ran when the credential was stored.
    result = actions.do_verify_pending_credential(credential.pk)
    result = result or actions.wait_for_verification(credential, timeout=0)
    assert result["outcome"] == "created", result
    return Connection.objects.select_related("tenant").get(pk=credential.connection_id)


def connect_api_key(keap, tenant, kind="PAT", user=None):
    """Create an active PAT or SAK connection; return (connection, sandbox key record)."""
    key = keap.control.create_api_key("ab123", kind, user_id=keap.user["id"])
    actor = Actor.for_user(user) if user else Actor("system")
    credential = actions.do_add_pending_api_key(
        tenant, method=kind.lower(), key=key["key"], actor=actor
    )
    # With eager tasks the check already ran when the credential was stored.
    result = actions.do_verify_pending_credential(credential.pk)
    result = result or actions.wait_for_verification(credential, timeout=0)
    assert result["outcome"] == "created", result
    return Connection.objects.select_related("tenant").get(pk=credential.connection_id), key


def expire_access_token(connection):
    from datetime import timedelta

    from django.utils import timezone

    Credential.objects.filter(connection=connection, is_pending=False).update(
        access_token_expires_at=timezone.now() - timedelta(seconds=1)
    )


def token_requests(keap, since=None):
    return [entry for entry in keap.control.request_log(since=since) if entry["path"] == "/token"]
