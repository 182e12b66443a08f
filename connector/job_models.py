"""Jobs: one requested piece of Keap work each, with its attempts.

A job's request payload, result and failed batch rows contain personal data (names, emails,
phone numbers). So they are stored only as Tink AEAD ciphertext from the tenant's vault keyset,
with associated data naming the tenant, the job and the field (`connector.jobs.payloads`). The
plain columns contain only what an operator needs without decrypting: the operation, the
status, timings, Keap's HTTP status and a short error message.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.models import TenantOwnedModel

# Columns holding tenant-keyset ciphertext; the vault counts them before retiring a key.
JOB_CIPHERTEXT_FIELDS = ("payload_ciphertext", "result_ciphertext", "failed_rows_ciphertext")


class Job(TenantOwnedModel):
    """One Keap call, or a short fixed series of them, requested by a client site or the portal.

    docs/jobs.md describes how a job moves through its statuses.
    """

    class Kind(models.TextChoices):
        REQUEST = "request", "One Keap request"
        UPSERT_CONTACT = "upsert_contact", "Create or update a contact, then tag it"
        BATCH_UPSERT = "batch_upsert", "Create or update many contacts"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        # A request that is not safe to repeat may have reached Keap before the connection
        # failed, so the portal cannot tell whether Keap carried it out.
        OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown"

    FINISHED_STATUSES = (
        Status.SUCCEEDED,
        Status.FAILED,
        Status.CANCELLED,
        Status.OUTCOME_UNKNOWN,
    )

    # Null for jobs the portal itself creates, such as health checks and CSV imports.
    site = models.ForeignKey(
        "connector.ClientSite", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    connection = models.ForeignKey(
        "connector.Connection", on_delete=models.CASCADE, related_name="jobs"
    )
    # The portal user who created the job, for jobs the portal creates on a user's behalf.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)

    # The Keap operation, as the scope catalogue names it; never the concrete path or the body.
    method = models.CharField(max_length=10)
    path_template = models.CharField(max_length=200)
    operation_id = models.CharField(max_length=100, blank=True)

    # Tries that count towards JOB_MAX_ATTEMPTS. Rate-limited tries and batch chunks that end
    # on time do not count; `runs` counts every claim and numbers the JobAttempt rows.
    attempts = models.PositiveIntegerField(default=0)
    runs = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(default=timezone.now)
    # When the job was last pushed onto the fair queue; null while no push has succeeded.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # A claim that expires: a job still `running` after `lease_until` lost its worker.
    lease_until = models.DateTimeField(null=True, blank=True)
    # Fencing token of the current claim. A worker writes the outcome only while it matches, so
    # a worker that lost its lease cannot overwrite the work of the one that took over.
    claim_id = models.UUIDField(null=True, blank=True)
    # hostname:pid of the worker process holding the claim, for operators.
    lease_owner = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    keap_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    # Written for the site owner; for a 4xx other than 401, 403 and 429 it keeps Keap's message.
    error = models.CharField(max_length=200, blank=True)

    payload_ciphertext = models.BinaryField(null=True, blank=True)
    result_ciphertext = models.BinaryField(null=True, blank=True)
    failed_rows_ciphertext = models.BinaryField(null=True, blank=True)
    result_purged_at = models.DateTimeField(null=True, blank=True)

    # Batch progress, in rows.
    progress_total = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_created = models.PositiveIntegerField(default=0)
    progress_updated = models.PositiveIntegerField(default=0)
    progress_failed = models.PositiveIntegerField(default=0)

    # The client's Idempotency-Key header, cleared once it expires so the key can be reused.
    idempotency_key = models.CharField(max_length=255, blank=True)
    idempotency_expires_at = models.DateTimeField(null=True, blank=True)
    # HMAC-SHA256 of the request (keyed by SECRET_KEY, so it cannot confirm a guessed body).
    request_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "site", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                # Jobs the portal creates have no site; their keys must be unique too.
                nulls_distinct=False,
                name="connector_job_one_per_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "queued",
                        "running",
                        "succeeded",
                        "failed",
                        "cancelled",
                        "outcome_unknown",
                    ]
                ),
                name="connector_job_known_status",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["request", "upsert_contact", "batch_upsert"]),
                name="connector_job_known_kind",
            ),
            models.CheckConstraint(
                condition=Q(progress_done__lte=models.F("progress_total")),
                name="connector_job_progress_within_total",
            ),
        ]
        indexes = [
            # The sweeper: queued jobs whose push onto the fair queue is missing or old.
            models.Index(
                fields=["dispatched_at"],
                condition=Q(status="queued"),
                name="connector_job_queued_idx",
            ),
            # The sweeper: running jobs whose lease has expired.
            models.Index(
                fields=["lease_until"],
                condition=Q(status="running"),
                name="connector_job_lease_idx",
            ),
            # Revoking a connection cancels its queued jobs.
            models.Index(fields=["connection", "status"], name="connector_job_connection_idx"),
            # The retention task: finished jobs whose payload and result are not purged yet.
            models.Index(
                fields=["finished_at"],
                condition=Q(result_purged_at__isnull=True),
                name="connector_job_retention_idx",
            ),
            # The retention task: idempotency keys past their expiry.
            models.Index(
                fields=["idempotency_expires_at"],
                condition=~Q(idempotency_key=""),
                name="connector_job_idem_expiry_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} job {self.public_id} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in self.FINISHED_STATUSES

    @property
    def operation_summary(self):
        return f"{self.method} {self.path_template}"


class JobAttempt(TenantOwnedModel):
    """One run of a job by a worker: a claim, the Keap calls it made and how it ended."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # Finished the planned part of a batch on time; the rest continues in a new task.
        CONTINUED = "continued", "Continued"
        RETRY = "retry", "Failed, retry scheduled"
        RATE_LIMITED = "rate_limited", "Rate limited, retry scheduled"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown"
        # The worker stopped (crashed or was killed) before it recorded an outcome.
        LOST = "lost", "Worker lost"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RUNNING)
    keap_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "job", "number"], name="connector_jobattempt_one_per_number"
            ),
        ]

    def __str__(self):
        return f"attempt {self.number} of job {self.job_id} ({self.get_outcome_display()})"
