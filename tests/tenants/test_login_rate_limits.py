"""Failed logins beyond allauth's limit get 429, and pages never reveal whether an email exists.

allauth 65.22's default limit for failed logins is 5 per address per 5 minutes and 10 per IP
address per minute (allauth/account/app_settings.py, RATE_LIMITS). The counts live in Redis.
"""

import re

import pytest
from django.urls import reverse

from tests.factories import PASSWORD

LOGIN = reverse("account_login")
RESET = reverse("account_reset_password")


def fail_login(client, email):
    return client.post(LOGIN, {"login": email, "password": "wrong password"})


def normalised(response):
    """Return the page without the CSRF token, which differs on every response."""
    text = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)


@pytest.mark.parametrize("email", ["owner@example.com", "nobody@example.com"])
def test_it_answers_429_after_five_failures(client, owner, email):
    for _ in range(5):
        assert fail_login(client, email).status_code == 200

    response = fail_login(client, email)

    assert response.status_code == 429
    assert b"Too many attempts in a short time." in response.content


def test_it_rejects_correct_password_while_limited(client, owner):
    for _ in range(5):
        fail_login(client, "owner@example.com")

    response = client.post(LOGIN, {"login": "owner@example.com", "password": PASSWORD})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_limits_each_address_separately(client, owner):
    for _ in range(5):
        fail_login(client, "nobody@example.com")

    response = client.post(LOGIN, {"login": "owner@example.com", "password": PASSWORD})

    assert response.status_code == 302


def test_it_answers_login_failures_alike(client, owner):
    existing = fail_login(client, "owner@example.com")
    unknown = fail_login(client, "nobody@example.com")

    assert existing.status_code == unknown.status_code == 200
    assert normalised(existing).replace("owner@", "X@") == normalised(unknown).replace(
        "nobody@", "X@"
    )
    assert "The email address and/or password you specified are not correct." in (
        normalised(existing)
    )


def test_it_answers_password_resets_alike(client, owner):
    existing = client.post(RESET, {"email": "owner@example.com"})
    unknown = client.post(RESET, {"email": "nobody@example.com"})

    assert existing.status_code == unknown.status_code == 302
    assert existing.url == unknown.url == reverse("account_reset_password_done")
