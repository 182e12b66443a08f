"""Every portal response carries a Content Security Policy without inline code."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_sends_policy_on_pages(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_it_allows_form_redirect_to_keap(client, settings):
    response = client.get("/healthz")

    assert "form-action 'self' http" in response["Content-Security-Policy"]
    assert settings.KEAP_AUTHORIZE_URL.split("/app/")[0] in response["Content-Security-Policy"]
