from django.urls import reverse

from tenants.access import SESSION_TENANT_KEY
from tests.factories import login


def url(tenant):
    return reverse("tenant_switch", kwargs={"tenant_id": tenant.public_id})


def test_it_works(client, owner, outsider, make_membership):
    make_membership(outsider.tenant, user=owner.user, role="viewer")
    login(client, owner.user)

    response = client.post(url(outsider.tenant))

    assert response.status_code == 302
    assert client.session[SESSION_TENANT_KEY] == str(outsider.tenant.public_id)
    page = client.get(reverse("member_list"))
    assert b"Members of Globex" in page.content


def test_it_requires_login(client, owner):
    assert client.post(url(owner.tenant)).status_code == 302


def test_it_returns_404_for_outsider(client, owner, outsider):
    login(client, outsider.user)

    response = client.post(url(owner.tenant))

    assert response.status_code == 404
    assert client.session[SESSION_TENANT_KEY] == str(outsider.tenant.public_id)


def test_it_falls_back_when_membership_ends(client, owner, outsider, make_membership):
    """A session that names a tenant the user has left falls back to another membership."""
    joined = make_membership(outsider.tenant, user=owner.user, role="viewer")
    login(client, owner.user)
    client.post(url(outsider.tenant))
    joined.delete()

    page = client.get(reverse("member_list"))

    assert b"Members of Acme" in page.content


def test_it_rejects_get(client, owner):
    login(client, owner.user)

    assert client.get(url(owner.tenant)).status_code == 405
