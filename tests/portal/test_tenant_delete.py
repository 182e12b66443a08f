import logging

from django.urls import reverse

from tenants.models import AuditEvent, Invitation, Membership, Tenant
from tests.factories import login, make_invitation

URL = reverse("tenant_delete")


def test_it_works(client, owner, member, caplog):
    make_invitation(owner.tenant)
    login(client, owner.user)

    with caplog.at_level(logging.INFO, logger="tenants.actions"):
        response = client.post(URL, {"name": "Acme"})

    assert response.status_code == 302
    assert response.url == reverse("tenant_list")
    assert not Tenant.objects.filter(pk=owner.tenant.pk).exists()
    assert not Membership.objects.filter(tenant_id=owner.tenant.pk).exists()
    assert not Invitation.objects.filter(tenant_id=owner.tenant.pk).exists()
    # The audit log goes with the tenant, so the application log keeps the deletion.
    assert not AuditEvent.objects.filter(tenant_id=owner.tenant.pk).exists()
    assert f"[tenant={owner.tenant.public_id}] tenant deleted by user={owner.user.pk}" in (
        caplog.text
    )


def test_it_forgets_deleted_tenant_in_session(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "Acme"}, follow=True)

    assert b"Deleted the tenant Acme and all its data." in response.content
    assert b"You belong to no tenant yet." in response.content


def test_it_requires_login(client, owner):
    response = client.post(URL, {"name": "Acme"})

    assert response.status_code == 302
    assert Tenant.objects.filter(pk=owner.tenant.pk).exists()


def test_it_deletes_only_outsiders_own_tenant(client, owner, outsider):
    login(client, outsider.user)

    response = client.post(URL, {"name": "Acme", "tenant": str(owner.tenant.public_id)})

    assert response.status_code == 400
    assert Tenant.objects.filter(pk=owner.tenant.pk).exists()
    assert Tenant.objects.filter(pk=outsider.tenant.pk).exists()


def test_it_forbids_readonly_member(client, owner, readonly_member):
    login(client, readonly_member.user)

    assert client.post(URL, {"name": "Acme"}).status_code == 403
    assert Tenant.objects.filter(pk=owner.tenant.pk).exists()


def test_it_forbids_admin(client, owner, admin):
    login(client, admin.user)

    assert client.post(URL, {"name": "Acme"}).status_code == 403
    assert Tenant.objects.filter(pk=owner.tenant.pk).exists()


def test_it_rejects_wrong_name(client, owner):
    login(client, owner.user)

    response = client.post(URL, {"name": "acme"})

    assert response.status_code == 400
    assert b"The name does not match." in response.content
    assert Tenant.objects.filter(pk=owner.tenant.pk).exists()


def test_it_asks_for_password_after_old_login(client, owner):
    login(client, owner.user, seconds_ago=16 * 60)

    response = client.post(URL, {"name": "Acme"})

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))
    assert Tenant.objects.filter(pk=owner.tenant.pk).exists()


def test_it_resumes_after_reauthentication(client, owner):
    login(client, owner.user, seconds_ago=16 * 60)
    response = client.post(URL, {"name": "Acme"})

    response = client.post(response.url, {"password": "correct horse battery staple 42"})

    assert response.status_code == 302
    assert response.url == reverse("tenant_list")
    assert not Tenant.objects.filter(pk=owner.tenant.pk).exists()
