"""Running a claimed job: its Keap calls, each under a rate-limit grant.

Every Keap call goes through `keap_call`. It takes a grant from the shared limiter, renews the
job's lease, and calls `connector.keap.client.call`, which re-checks the connection's status
under a row lock, decrypts the credential and audits the decryption. Then it passes Keap's quota
headers back to the limiter.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connector.job_models import Job
from connector.jobs import config, payloads
from connector.jobs.finish import JobRun, LeaseLost, short_error
from connector.jobs.operations import APPLY_TAGS_TO_CONTACT, UPSERT_CONTACT, KeapRequest
from connector.keap import client
from connector.keap.errors import ConnectorError
from connector.keap.quota import KeapQuota
from connector.keyformats import redact
from connector.ratelimit import Decision, QuotaHeaders, observe_headers, try_acquire

logger = logging.getLogger(__name__)

# Errors that concern one batch row (its data), not the connection: the row is recorded as
# failed and the batch goes on.
ROW_ERRORS = frozenset({"bad_request", "not_found", "conflict"})

# Statuses whose Keap message is passed on to the site owner: everything from 400 to 499
# except a rejected credential, a refusal and a rate limit, which get the portal's own words.
KEAP_MESSAGE_HIDDEN_STATUSES = frozenset({401, 403, 429})

# A limiter wait is slept through in steps of at most this many seconds, re-checking between.
MAX_SLEEP_STEP_SECONDS = 1.0


class TokenWait(Exception):
    """The limiter requests a longer wait than a worker should sleep through."""

    def __init__(self, retry_after: float):
        super().__init__(f"rate limit wait of {retry_after:.1f}s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class BatchProgress:
    finished: bool


def take_token(limits, *, max_wait: float) -> Decision:
    """Take a grant from every window in `limits` and return the last decision.

    Sleeps through waits of up to `max_wait` seconds in total. The decision is a denial when
    the wait would be longer.
    """
    waited = 0.0
    while True:
        decision = try_acquire(limits)
        if decision.allowed or waited + decision.retry_after > max_wait:
            return decision
        step = min(decision.retry_after, MAX_SLEEP_STEP_SECONDS)
        time.sleep(step)
        waited += step


def keap_call(run: JobRun, request: KeapRequest):
    """Send one Keap request for the job and return the KeapResponse.

    Raises TokenWait when the limiter requests a long wait, LeaseLost when the claim is gone,
    and ConnectorError from the client (with `run.keap_status` set to Keap's status).
    """
    if run.token_ready:
        run.token_ready = False
    else:
        decision = take_token(run.limits, max_wait=config.in_job_wait_seconds())
        if not decision.allowed:
            raise TokenWait(decision.retry_after)
    renew_lease(run)

    try:
        response = client.call(
            run.job.connection,
            request.method,
            request.path,
            request.query,
            request.body,
            actor=run.actor,
        )
    except ValueError as exc:
        # The API validates paths before a job exists, so this is a bug, not bad input.
        raise ConnectorError("bad_request", permanent=True, detail=str(exc))
    except ConnectorError as exc:
        run.keap_status = exc.status
        _observe(run, getattr(exc, "quota", None), exc.status or 0)
        raise

    run.keap_status = response.status
    _observe(run, response.quota, response.status)
    return response


def renew_lease(run: JobRun) -> None:
    """Extend the claim by JOB_LEASE_SECONDS from now; raise LeaseLost if it is gone.

    Skipped while less than a third of the lease has passed since the claim or the last
    renewal, which saves a write before the first call of most jobs.
    """
    lease = config.lease_seconds()
    if time.monotonic() - run.lease_renewed < lease / 3:
        return
    if not run.claimed_rows().update(lease_until=timezone.now() + timedelta(seconds=lease)):
        raise LeaseLost(f"job {run.job.public_id} is no longer claimed by this run")
    run.lease_renewed = time.monotonic()


def user_message(error: ConnectorError) -> str:
    """Return the sentence shown for `error`; for most 4xx it ends with Keap's own message."""
    message = error.message
    keap_message = _keap_message(error)
    status = error.status or 0
    if 400 <= status < 500 and status not in KEAP_MESSAGE_HIDDEN_STATUSES and keap_message:
        message = f"{message} Keap said: {keap_message}"
    return short_error(redact(message))


# --- Job kinds ------------------------------------------------------------------------------


def run_request(run: JobRun, payload: dict) -> dict:
    """One Keap request; the result contains Keap's status and parsed body."""
    request = KeapRequest(
        method=payload["method"],
        path=payload["path"],
        query=payload.get("query") or None,
        body=payload.get("body"),
    )
    response = keap_call(run, request)
    return {"status": response.status, "body": response.data}


def run_upsert_contact(run: JobRun, payload: dict) -> dict:
    """Create or update a contact by email, then apply its tags; return the contact and tags."""
    return upsert_with_tags(run, payload["contact"], payload.get("tag_ids") or [])


def upsert_with_tags(run: JobRun, contact: dict, tag_ids: list) -> dict:
    body = {**contact, "duplicate_option": "Email"}
    response = keap_call(run, KeapRequest(UPSERT_CONTACT.method, UPSERT_CONTACT.path, body=body))
    data = response.data if isinstance(response.data, dict) else {}
    result = {"contact": data, "created": _was_created(data), "tags": None}

    if tag_ids and data.get("id") is not None:
        path = APPLY_TAGS_TO_CONTACT.path.replace("{contactId}", str(int(data["id"])))
        tagged = keap_call(
            run, KeapRequest(APPLY_TAGS_TO_CONTACT.method, path, body={"tagIds": tag_ids})
        )
        result["tags"] = tagged.data
    return result


def run_batch_chunk(run: JobRun, payload: dict) -> BatchProgress:
    """Upsert the batch's next rows, up to JOB_BATCH_CHUNK_ROWS or JOB_BATCH_CHUNK_SECONDS.

    Progress is saved after every row, so a new run continues after the last saved row. A row
    that Keap rejects for its data is kept, encrypted, in the failed rows. Any other error ends
    the chunk and goes to the job's retry handling. Each call re-checks the connection, so a
    revoked connection stops the batch before its next Keap call.
    """
    job = run.job
    rows = payload["rows"]
    start = job.progress_done
    end = min(len(rows), start + config.batch_chunk_rows())
    deadline = time.monotonic() + config.batch_chunk_seconds()
    failed_rows = None

    for index in range(start, end):
        if index > start and time.monotonic() > deadline:
            return BatchProgress(finished=False)
        row = rows[index]
        try:
            result = upsert_with_tags(run, row["contact"], row.get("tag_ids") or [])
        except ConnectorError as exc:
            if exc.code not in ROW_ERRORS:
                raise
            if failed_rows is None:
                failed_rows = payloads.decrypt(job, payloads.FAILED_ROWS) or []
            failed_rows.append(_failed_row(index, row, exc))
            _save_row(run, failed_rows=failed_rows)
            continue
        _save_row(run, created=result["created"])

    return BatchProgress(finished=end >= len(rows))


def batch_summary(job: Job) -> dict:
    job.refresh_from_db(
        fields=[
            "progress_total",
            "progress_done",
            "progress_created",
            "progress_updated",
            "progress_failed",
        ]
    )
    return {
        "total": job.progress_total,
        "done": job.progress_done,
        "created": job.progress_created,
        "updated": job.progress_updated,
        "failed": job.progress_failed,
    }


def _save_row(run: JobRun, *, created=None, failed_rows=None):
    values = {
        "progress_done": F("progress_done") + 1,
        "lease_until": timezone.now() + timedelta(seconds=config.lease_seconds()),
    }
    run.lease_renewed = time.monotonic()
    if failed_rows is None:
        counter = "progress_created" if created else "progress_updated"
        values[counter] = F(counter) + 1

    with transaction.atomic():
        if failed_rows is not None:
            values["progress_failed"] = F("progress_failed") + 1
            values["failed_rows_ciphertext"] = payloads.encrypt(
                run.job, payloads.FAILED_ROWS, failed_rows
            )
        changed = run.claimed_rows().update(**values)
    if not changed:
        raise LeaseLost(f"job {run.job.public_id} is no longer claimed by this run")


def _failed_row(index, row, error):
    emails = row["contact"].get("email_addresses") or [{}]
    return {
        "row": index,
        "email": emails[0].get("email", ""),
        "error_code": error.code,
        "error": user_message(error),
        "keap_status": error.status,
    }


def _was_created(contact: dict) -> bool:
    # NOTE: Keap's v1 upsert returns 200 whether it created or updated, so a new contact is
    # recognised by its creation time equalling its update time. Keap documents neither way.
    created, updated = contact.get("date_created"), contact.get("last_updated")
    return bool(created) and created == updated


def _keap_message(error: ConnectorError) -> str:
    # The client stores Keap's message in `detail` as "Keap error <code>: <message>".
    detail = error.detail or ""
    if not detail.startswith("Keap error ") or ": " not in detail:
        return ""
    return detail.split(": ", 1)[1].strip()


def _observe(run: JobRun, quota: KeapQuota | None, status: int) -> None:
    if not run.limits or quota is None:
        return
    try:
        observe_headers(run.limits, quota_headers(quota, status))
    except Exception:
        # Tightening is an optimisation; the call's own outcome must still be recorded.
        logger.exception("[job=%s] could not pass Keap's quota headers on", run.job.public_id)


def quota_headers(quota: KeapQuota, status: int) -> QuotaHeaders:
    """Convert the client's parsed quota headers into the limiter's form."""
    tenant_minute = tenant_day = None
    for window in quota.tenant_throttle:
        if window.time_unit.lower() == "day":
            tenant_day = window.available
        else:
            tenant_minute = window.available

    product_quota = quota.product_quota[0] if quota.product_quota else None
    expiry = product_quota.expires_at if product_quota else None
    return QuotaHeaders(
        product_throttle_available=(
            quota.product_throttle[0].available if quota.product_throttle else None
        ),
        product_quota_available=product_quota.available if product_quota else None,
        product_quota_expiry_ms=int(expiry.timestamp() * 1000) if expiry else None,
        tenant_throttle_available=tenant_minute,
        tenant_quota_available=tenant_day,
        retry_after=quota.retry_after,
        throttled=status == 429,
    )
