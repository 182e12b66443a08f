from django.urls import reverse

from tests.factories import login

URL = reverse("tenant_settings")


def test_it_works(client, owner):
    login(client, owner.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert b"Settings of Acme" in response.content
    assert b'name="name"' in response.content


def test_it_requires_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_shows_outsider_only_own_tenant(client, owner, outsider):
    login(client, outsider.user)

    response = client.get(URL)

    assert b"Settings of Globex" in response.content
    assert b"Acme" not in response.content


def test_it_forbids_readonly_member(client, readonly_member):
    login(client, readonly_member.user)

    assert client.get(URL).status_code == 403


def test_it_forbids_admin(client, admin):
    login(client, admin.user)

    assert client.get(URL).status_code == 403


def test_it_rejects_post(client, owner):
    login(client, owner.user)

    assert client.post(URL).status_code == 405


def test_it_redirects_user_without_tenant(client, make_user):
    login(client, make_user())

    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("tenant_list")
