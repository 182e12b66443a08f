from django.urls import reverse

from tests.factories import login


def test_it_works(client, owner):
    login(client, owner.user)

    response = client.get(reverse("index"))

    assert response.status_code == 200
    assert b"Current tenant: Acme, where you are owner." in response.content


def test_it_requires_login(client):
    response = client.get(reverse("index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_guides_user_without_tenant(client, make_user):
    login(client, make_user())

    response = client.get(reverse("index"))

    assert b"You belong to no tenant yet." in response.content
