"""A URLconf for tests: the project's URLs plus one view per permission and an MFA-guarded view."""

from django.http import HttpResponse
from django.urls import include, path

from tenants.access import mfa_required, require_permission
from tenants.roles import PERMISSIONS


def ok(request):
    return HttpResponse("ok")


urlpatterns = [
    *[
        path(f"test-only/permission/{permission}/", require_permission(permission)(ok))
        for permission in PERMISSIONS
    ],
    path("test-only/mfa/", mfa_required(ok), name="test_mfa_required"),
    path("", include("config.urls")),
]
