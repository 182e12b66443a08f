"""Pages for the current tenant's jobs: the filtered list, a job's detail, a batch job's live
progress and the CSV of a batch job's failed rows."""

import logging

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from connector.actor import Actor
from connector.jobs import payloads
from connector.models import ClientSite, Job
from connector.vault import VaultError
from portal import contact_csv
from tenants.access import access_object, require_permission, tenant_required
from tenants.audit import record_event

logger = logging.getLogger(__name__)

PAGE_SIZE = 50

# Milliseconds between two polls of an unfinished job's state.
PROGRESS_POLL_MS = 1000


class JobFilterForm(forms.Form):
    """The list's filters and its keyset cursor, read from the query string."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Job.Status.choices], required=False)
    site = forms.ChoiceField(required=False, label="Client site")
    after = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        sites = (
            ClientSite.objects.for_tenant(tenant).order_by("name").values_list("public_id", "name")
        )
        self.fields["site"].choices = [
            ("", "Any client site"),
            ("portal", "The portal itself (imports, checks)"),
            *((str(public_id), name) for public_id, name in sites),
        ]


@require_GET
@require_permission("job.view")
def job_list(request):
    form = JobFilterForm(request.GET or None, tenant=request.tenant)
    filters = form.cleaned_data if form.is_valid() else {}

    jobs = _filtered_jobs(request.tenant, filters)
    after = _cursor_pk(request.tenant, filters.get("after"))
    if after is not None:
        jobs = jobs.filter(pk__lt=after)
    page = list(jobs.order_by("-pk")[: PAGE_SIZE + 1])

    ctx = {
        "form": form,
        "jobs": page[:PAGE_SIZE],
        "next_cursor": page[PAGE_SIZE - 1].public_id if len(page) > PAGE_SIZE else None,
        "is_first_page": after is None,
    }
    status = 400 if form.errors else 200
    return render(request, "portal/jobs/list.html", ctx, status=status)


@require_GET
@tenant_required
def job_detail(request, job_id):
    job = access_object(request, Job, job_id, permission="job.view")
    ctx = {
        "job": job,
        "attempts": job.attempt_rows.order_by("number"),
        "timing": {
            "wait": _duration(job.created_at, job.started_at),
            "total": _duration(job.created_at, job.finished_at),
        },
        "poll_ms": PROGRESS_POLL_MS,
    }
    return render(request, "portal/jobs/detail.html", ctx)


@require_GET
@tenant_required
def job_progress(request, job_id):
    """Return the partial that the detail page polls while a job is unfinished.

    Once the job has finished, the response sets HX-Refresh, so htmx reloads the whole page,
    which then shows the final status and attempts and polls no more.
    """
    job = access_object(request, Job, job_id, permission="job.view")
    response = render(
        request, "portal/jobs/_progress.html", {"job": job, "poll_ms": PROGRESS_POLL_MS}
    )
    if job.is_finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@require_GET
@tenant_required
def job_failed_rows_csv(request, job_id):
    """Send a batch job's failed rows as CSV, decrypted for this download and audited."""
    job = access_object(request, Job, job_id, permission="connection.use")
    try:
        failed_rows = payloads.decrypt(job, payloads.FAILED_ROWS) or []
        payload = payloads.decrypt(job, payloads.PAYLOAD)
    except VaultError:
        logger.exception(
            "[job=%s tenant=%s] failed rows did not decrypt",
            job.public_id,
            request.tenant.public_id,
        )
        return render(request, "portal/jobs/failed_rows_unavailable.html", {"job": job}, status=500)

    body = contact_csv.failed_rows_csv(failed_rows, payload["rows"] if payload else None)
    record_event(
        request.tenant,
        "failed_rows.exported",
        **Actor.for_user(request.user).audit_fields(),
        target_type="job",
        target_id=job.public_id,
        details={"rows": len(failed_rows), "format": "csv"},
        request=request,
    )

    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="failed-rows-{job.public_id}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _filtered_jobs(tenant, filters):
    jobs = Job.objects.for_tenant(tenant).select_related("site", "connection")
    if filters.get("status"):
        jobs = jobs.filter(status=filters["status"])
    site = filters.get("site")
    if site == "portal":
        jobs = jobs.filter(site__isnull=True)
    elif site:
        jobs = jobs.filter(site__public_id=site)
    return jobs


def _cursor_pk(tenant, public_id):
    """Return the primary key of the job that the `after` cursor names, or None.

    The URL carries the job's public id, never its primary key, so it is looked up here.
    """
    if public_id is None:
        return None
    return (
        Job.objects.for_tenant(tenant)
        .filter(public_id=public_id)
        .values_list("pk", flat=True)
        .first()
    )


def _duration(start, end):
    """Return the time from `start` to `end` in words ("850 ms", "2.4 s", "3 min 5 s"), or ""."""
    if start is None or end is None or end < start:
        return ""
    seconds = (end - start).total_seconds()
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
