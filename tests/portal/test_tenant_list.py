from django.urls import reverse

from tests.factories import login

URL = reverse("tenant_list")


def test_it_works(client, owner, outsider, make_membership):
    make_membership(outsider.tenant, user=owner.user, role="viewer")
    login(client, owner.user)

    response = client.get(URL)

    assert response.status_code == 200
    assert b"Acme (owner)" in response.content
    assert b"Globex (viewer)" in response.content
    assert b"Switch to Globex" in response.content
    assert b"Switch to Acme" not in response.content


def test_it_requires_login(client):
    assert client.get(URL).status_code == 302


def test_it_lists_only_own_tenants(client, owner, outsider):
    login(client, outsider.user)

    response = client.get(URL)

    assert b"Globex" in response.content
    assert b"Acme" not in response.content


def test_it_rejects_post(client, owner):
    login(client, owner.user)

    assert client.post(URL).status_code == 405
