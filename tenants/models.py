import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)


class TenantOwnedModel(models.Model):
    """Base for every row that belongs to a tenant.

    Query through `Model.objects.for_tenant(tenant)` so that no read forgets the tenant.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    public_id = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Tenant(models.Model):
    """One customer organisation of the portal; it owns every connection, site and event."""

    public_id = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    public_id = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user"], name="tenants_membership_one_per_user"
            )
        ]

    def __str__(self):
        return f"{self.user} in {self.tenant} as {self.role}"


class Invitation(TenantOwnedModel):
    """An emailed offer to join a tenant with a role, usable once and until `expires_at`.

    tenants.actions.do_accept_invitation enforces both under a row lock.
    """

    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The invitations page lists a tenant's pending invitations, and creating one looks
            # for a pending invitation to the same address.
            models.Index(fields=["tenant", "email"], name="tenants_invitation_email_idx"),
        ]

    def __str__(self):
        return f"invitation of {self.email} to {self.tenant} as {self.role}"

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None

    def is_expired(self, now):
        return now >= self.expires_at


class AuditChainHead(models.Model):
    """The latest sequence number and hash of one tenant's audit chain.

    Writers lock this row, so events of one tenant are appended one at a time while other
    tenants write in parallel.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="audit_head")
    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")
    # Where verification starts once retention has removed the oldest events.
    start_sequence = models.BigIntegerField(default=1)
    start_previous_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"audit chain head at #{self.last_sequence}"


class AuditEvent(models.Model):
    """One entry of a tenant's append-only, hash-chained audit log. Never holds a secret."""

    class ActorType(models.TextChoices):
        USER = "user", "User"
        CLIENT_SITE = "client_site", "Client site"
        SYSTEM = "system", "System task"
        OPERATOR = "operator", "Operator"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        FAILURE = "failure", "Failure"
        DENIED = "denied", "Denied"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_events")
    sequence = models.BigIntegerField()
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=20, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    request_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "sequence"], name="tenants_auditevent_one_per_sequence"
            )
        ]
        # The log page lists a tenant's events newest first, by keyset on sequence; the unique
        # constraint's index on (tenant, sequence) serves that query.
        # Each filter of the log page and its export (tenants/audit_queries.py) has an index
        # that ends in sequence, so a rare value is found without walking the whole log and
        # the newest matches come out already in keyset order.
        indexes = [
            # Filter by exact action, and by prefix ("connection."): LIKE 'prefix%' can use a
            # varchar_pattern_ops index whatever the database's collation.
            models.Index(
                fields=["tenant", "action", "sequence"],
                opclasses=["int8_ops", "varchar_pattern_ops", "int8_ops"],
                name="tenants_audit_action_idx",
            ),
            # Filter by actor: the value matches actor_id or actor_label, one index each.
            models.Index(
                fields=["tenant", "actor_id", "sequence"], name="tenants_audit_actor_id_idx"
            ),
            models.Index(
                fields=["tenant", "actor_label", "sequence"], name="tenants_audit_actor_label_idx"
            ),
            # Filter by actor type; operator access events are rare among millions.
            models.Index(
                fields=["tenant", "actor_type", "sequence"], name="tenants_audit_actor_type_idx"
            ),
            # Filter by target id, with or without the target type.
            models.Index(
                fields=["tenant", "target_id", "sequence"], name="tenants_audit_target_idx"
            ),
            # Filter by outcome failure or denied, which are rare; success needs no index.
            models.Index(
                fields=["tenant", "outcome", "sequence"],
                condition=Q(outcome__in=["failure", "denied"]),
                name="tenants_audit_failed_idx",
            ),
            # Filter by time range (since/until); a narrow range far back starts here.
            models.Index(fields=["tenant", "created_at"], name="tenants_audit_created_idx"),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.action} by {self.actor_type}"
