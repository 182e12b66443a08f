"""Helpers shared by the tests of the dashboard, jobs and import pages."""

import itertools

from django.utils import timezone

from connector.models import Job, JobAttempt

LAYOUT_PROCESSOR = "portal.context_processors.layout"

_sequence = itertools.count(1)


def enable_layout_context(settings):
    """Add the layout's context processor to the template settings if they lack it."""
    templates = [dict(engine) for engine in settings.TEMPLATES]
    options = dict(templates[0].get("OPTIONS", {}))
    processors = list(options.get("context_processors", []))
    if LAYOUT_PROCESSOR not in processors:
        processors.append(LAYOUT_PROCESSOR)
    options["context_processors"] = processors
    templates[0]["OPTIONS"] = options
    settings.TEMPLATES = templates


def make_job(connection, *, site=None, **fields):
    """Create a job row directly, without payload or audit event, for pages that only list it."""
    values = {
        "kind": Job.Kind.REQUEST,
        "method": "GET",
        "path_template": "/v1/contacts",
        "operation_id": "listContactsUsingGET",
        **fields,
    }
    return Job.objects.create(tenant=connection.tenant, connection=connection, site=site, **values)


def make_attempt(job, *, outcome=JobAttempt.Outcome.SUCCEEDED, started_at=None, **fields):
    return JobAttempt.objects.create(
        tenant=job.tenant,
        job=job,
        number=next(_sequence),
        outcome=outcome,
        started_at=started_at or timezone.now(),
        **fields,
    )
