"""Who performed an action, in the form the audit log records."""

from dataclasses import dataclass

from tenants.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    type: str
    id: str = ""
    label: str = ""

    @classmethod
    def for_user(cls, user):
        # The email, as the login events show it; a user without one keeps the username.
        return cls(AuditEvent.ActorType.USER, str(user.pk), user.email or user.get_username())

    def audit_fields(self):
        """Return the actor keyword arguments of `tenants.audit.record_event`."""
        return {"actor_type": self.type, "actor_id": self.id, "actor_label": self.label}


SYSTEM = Actor(AuditEvent.ActorType.SYSTEM, "", "scheduled task")
OPERATOR = Actor(AuditEvent.ActorType.OPERATOR, "", "manage.py command")
