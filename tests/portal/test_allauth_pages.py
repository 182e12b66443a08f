"""allauth's pages render inside the portal's layout, with labels and errors beside fields."""

import pytest
from django.urls import reverse

from tests.factories import login


@pytest.mark.parametrize(
    "name",
    ["account_login", "account_signup", "account_reset_password"],
)
def test_it_renders_entrance_pages_in_portal_layout(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert b"Skip to content" in response.content
    assert b'<label for="id_' in response.content


@pytest.mark.parametrize(
    "name",
    ["account_change_password", "mfa_index", "account_email"],
)
def test_it_renders_account_pages_in_portal_layout(client, owner, name):
    login(client, owner.user)

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert b"Skip to content" in response.content
    assert b"Acme" in response.content


def test_it_links_errors_to_their_field(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "not-an-email", "password1": "x", "password2": "x"},
    )

    assert b'aria-describedby="id_email_error"' in response.content
    assert b'aria-invalid="true"' in response.content
    assert b'id="id_email_error"' in response.content


def test_it_has_no_inline_script(client):
    response = client.get(reverse("account_login"))

    assert b"<script" not in response.content
