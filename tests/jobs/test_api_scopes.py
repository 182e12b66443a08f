"""Scopes through the client API: a site with one scope can call exactly that scope's
operations, checked against the sandbox."""

import re

import pytest

from connector.models import Job
from connector.scopes import SCOPES
from tests.api.conftest import bearer
from tests.connector.site_factories import make_site
from tests.jobs.conftest import drive_jobs

pytestmark = pytest.mark.django_db(transaction=True)

ALL_OPERATIONS = sorted(
    {operation for scope in SCOPES.values() for operation in scope.operations},
    key=lambda operation: (operation.path, operation.method),
)

# Minimal bodies for the writing operations, so the sandbox can process them.
BODIES = {
    "createContactUsingPOST": {"email_addresses": [{"email": "s1@example.com", "field": "EMAIL1"}]},
    "createOrUpdateContactUsingPUT": {
        "email_addresses": [{"email": "s2@example.com", "field": "EMAIL1"}],
        "duplicate_option": "Email",
    },
    "createContact": {"email_addresses": [{"email": "s3@example.com", "field": "EMAIL1"}]},
    "updatePropertiesOnContactUsingPATCH": {"given_name": "Scoped"},
    "updateContact": {"given_name": "Scoped"},
    "applyTagsToContactIdUsingPOST": {"tagIds": [1]},
    "applyTagToContactIdsUsingPOST": {"ids": [1]},
    "applyTags": {"contact_ids": ["1"]},
    "removeTags": {"contact_ids": ["1"]},
    "createCompanyUsingPOST": {"company_name": "Scoped Ltd"},
    "createCompany": {"company_name": "Scoped Ltd"},
    "updateCompanyUsingPATCH": {"company_name": "Scoped Ltd"},
    "updateCompany": {"company_name": "Scoped Ltd"},
}
QUERIES = {
    "removeTagsFromContactUsingDELETE": {"ids": "1"},
    "removeTagFromContactIdsUsingDELETE": {"ids": "1"},
}


def concrete(operation):
    return re.sub(r"\{[A-Za-z_]+\}", "1", operation.path)


def request_for(operation):
    return {
        "method": operation.method,
        "path": concrete(operation),
        "query": QUERIES.get(operation.operation_id, {}),
        "body": BODIES.get(operation.operation_id),
    }


@pytest.mark.parametrize("scope_name", sorted(SCOPES))
def test_it_allows_only_the_scopes_operations(scope_name, client, tenant, pat_connection, keap):
    site = make_site(tenant, connection=pat_connection, scopes=[scope_name])
    allowed = []

    for operation in ALL_OPERATIONS:
        response = client.post(
            "/api/v1/requests",
            request_for(operation),
            content_type="application/json",
            **bearer(site.raw_key),
        )
        if operation in SCOPES[scope_name].operations:
            assert response.status_code == 202, (operation, response.json())
            allowed.append((operation, response.json()["id"]))
        else:
            assert response.status_code == 403, (operation, response.status_code)
            assert response.json()["code"] == "scope_not_granted"
            assert response.json()["missing_scopes"] != [scope_name]

    assert len(allowed) == len(SCOPES[scope_name].operations)
    jobs = drive_jobs([Job.objects.get(public_id=job_id) for _, job_id in allowed], timeout=60)
    log = keap.control.request_log(path_prefix="/crm/rest/")
    for (operation, _), job in zip(allowed, jobs, strict=True):
        # The call reached Keap: the sandbox responded, whatever it made of id 1.
        assert job.keap_status is not None, (operation, job.error)
        assert job.status in (Job.Status.SUCCEEDED, Job.Status.FAILED)
        sent = [
            e
            for e in log
            if e["method"] == operation.method and e["path"] == "/crm/rest" + concrete(operation)
        ]
        assert sent, operation
