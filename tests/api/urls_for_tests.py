"""A URLconf for tests: the project's URLs plus a second client API with endpoints that exercise
the scope check, the connection check, input validation and unexpected errors."""

from django.urls import include, path
from ninja import Schema

from connector.api import ClientApi
from connector.api.auth import require_active_connection, require_scopes

test_api = ClientApi(title="Test API", version="test", urls_namespace="test_api")


class ContactIn(Schema):
    email: str
    count: int


@test_api.post("/echo", url_name="echo")
def echo(request, contact: ContactIn):
    return {"email": contact.email, "count": contact.count}


@test_api.get("/needs-contacts-read", url_name="needs_contacts_read")
def needs_contacts_read(request):
    require_scopes(request, "contacts:read", "tags:read")
    return {"ok": True}


@test_api.get("/needs-active-connection", url_name="needs_active_connection")
def needs_active_connection(request):
    require_active_connection(request)
    return {"ok": True}


@test_api.get("/crash", url_name="crash")
def crash(request):
    raise RuntimeError("failed on purpose for a test")


urlpatterns = [
    path("test-api/", test_api.urls),
    path("", include("config.urls")),
]
