"""The client API's OpenAPI description and its documentation page."""

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def test_openapi_schema_is_valid(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["info"]["title"] == "Connector portal client API"
    assert schema["info"]["version"] == "1"


def test_openapi_schema_describes_me_with_bearer_auth(client):
    schema = client.get("/api/v1/openapi.json").json()

    operation = schema["paths"]["/api/v1/me"]["get"]
    assert set(operation["responses"]) >= {"200", "401", "403", "429"}
    assert operation["security"] == [{"SiteKeyAuth": []}]
    scheme = schema["components"]["securitySchemes"]["SiteKeyAuth"]
    assert scheme == {"type": "http", "scheme": "bearer"}


def test_openapi_schema_needs_no_key(client):
    response = client.get("/api/v1/openapi.json", HTTP_AUTHORIZATION="Bearer kpsk_wrong")

    assert response.status_code == 200


def test_docs_page_loads_scripts_from_portal(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"/static/ninja/swagger-ui-bundle.js" in response.content
    assert b"cdn.jsdelivr.net" not in response.content
