"""Jobs created through `create_job`, the way the API creates them."""

import itertools

from connector.actor import SYSTEM
from connector.jobs.contacts import keap_contact_body
from connector.jobs.create import batch_upsert_job, create_job, request_job, upsert_contact_job
from connector.scopes import Operation, match_request

_sequence = itertools.count(1)


def make_request_job(connection, method, path, *, query=None, body=None, site=None, key=""):
    matched = match_request(method, path)
    operation = matched.operation if matched else Operation(method, path, "")
    job, _ = create_job(
        request_job(operation, path, query, body),
        connection=connection,
        actor=SYSTEM,
        site=site,
        idempotency_key=key,
    )
    return job


def contact(email=None, **fields):
    return {"email": email or f"person{next(_sequence)}@example.com", **fields}


def make_upsert_job(connection, email=None, *, tag_ids=(), site=None, **fields):
    job, _ = create_job(
        upsert_contact_job(keap_contact_body(contact(email, **fields)), tag_ids),
        connection=connection,
        actor=SYSTEM,
        site=site,
    )
    return job


def make_batch_job(connection, contacts, *, site=None):
    rows = [{"contact": keap_contact_body(item), "tag_ids": []} for item in contacts]
    job, _ = create_job(batch_upsert_job(rows), connection=connection, actor=SYSTEM, site=site)
    return job
