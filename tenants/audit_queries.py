"""Reading a tenant's audit log: filters, keyset pagination and export rows.

Pages and exports walk the log newest first by keyset on `sequence` (`sequence < before`), never
by OFFSET, so a page deep in a log of millions of events costs the same as the first one. The
indexes that serve each filter are declared on `AuditEvent` in tenants/models.py.
"""

import csv
import datetime
import io
import json
from dataclasses import dataclass

from django import forms
from django.db.models import Q

from tenants.models import AuditEvent

PAGE_SIZE = 50
EXPORT_CHUNK_SIZE = 1000

# Columns every reader sees, in display and export order.
PUBLIC_COLUMNS = (
    "sequence",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "details",
)
# Columns that identify a person's network and device; only `audit.view` shows them.
ORIGIN_COLUMNS = ("source_ip", "user_agent")

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection). Tab and
# carriage return are included because some spreadsheets strip them and read what follows.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterForm(forms.Form):
    """The log page's filters, from the query string. Every field is optional."""

    actor_type = forms.ChoiceField(
        choices=[("", "Any")] + AuditEvent.ActorType.choices, required=False
    )
    actor = forms.CharField(
        max_length=200, required=False, help_text="An actor id or the exact actor label."
    )
    action = forms.CharField(
        max_length=64,
        required=False,
        help_text='An exact action, or a prefix ending in "." such as "connection.".',
    )
    target_type = forms.CharField(max_length=64, required=False)
    target_id = forms.CharField(max_length=64, required=False)
    outcome = forms.ChoiceField(choices=[("", "Any")] + AuditEvent.Outcome.choices, required=False)
    since = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], help_text="First day, UTC (YYYY-MM-DD)."
    )
    until = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], help_text="Last day, UTC (YYYY-MM-DD)."
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The first day must not be after the last day.")
        if cleaned.get("before") is not None and cleaned.get("after") is not None:
            raise forms.ValidationError("Use either before or after, not both.")
        return cleaned

    def to_filter(self):
        """Return the valid form's values as an AuditFilter."""
        data = self.cleaned_data
        return AuditFilter(
            actor_type=data["actor_type"],
            actor=data["actor"].strip(),
            action=data["action"].strip(),
            target_type=data["target_type"].strip(),
            target_id=data["target_id"].strip(),
            outcome=data["outcome"],
            since=data["since"],
            until=data["until"],
        )


@dataclass(frozen=True)
class AuditFilter:
    """Conditions on a tenant's events; empty values match everything."""

    actor_type: str = ""
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    outcome: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None

    def as_details(self):
        """Return the conditions that are set, as JSON-ready values for an audit event."""
        values = {
            "actor_type": self.actor_type,
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "outcome": self.outcome,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: value for name, value in values.items() if value}

    def apply(self, queryset):
        """Return `queryset` narrowed to the events that match every set condition."""
        if self.actor_type:
            queryset = queryset.filter(actor_type=self.actor_type)
        if self.actor:
            queryset = queryset.filter(Q(actor_id=self.actor) | Q(actor_label=self.actor))
        if self.action.endswith("."):
            queryset = queryset.filter(action__startswith=self.action)
        elif self.action:
            queryset = queryset.filter(action=self.action)
        if self.target_type:
            queryset = queryset.filter(target_type=self.target_type)
        if self.target_id:
            queryset = queryset.filter(target_id=self.target_id)
        if self.outcome:
            queryset = queryset.filter(outcome=self.outcome)
        if self.since:
            queryset = queryset.filter(created_at__gte=_start_of_day(self.since))
        if self.until:
            # NOTE: the page walks the (tenant, sequence) index backwards, so an `until` far in
            # the past first skips every newer event: about 130 ms of query time 100 days back
            # in a log of 1,000,000 events over a year (bench/audit_page.py). An exact sequence
            # bound would need created_at to be non-decreasing along each tenant's chain.
            day_after = self.until + datetime.timedelta(days=1)
            queryset = queryset.filter(created_at__lt=_start_of_day(day_after))
        return queryset


def _start_of_day(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def visible_columns(show_origin):
    return PUBLIC_COLUMNS + ORIGIN_COLUMNS if show_origin else PUBLIC_COLUMNS


def filtered_events(tenant, audit_filter, *, show_origin):
    """Return the tenant's matching events as dicts of the visible columns, unordered.

    Without `show_origin` the query does not select source addresses and user agents at all.
    """
    queryset = audit_filter.apply(AuditEvent.objects.filter(tenant=tenant))
    return queryset.values(*visible_columns(show_origin))


@dataclass
class AuditPage:
    """One page of events, newest first, with the keyset bounds of its neighbours."""

    events: list
    # `before` value of the next (older) page, or None on the last page.
    older_before: int | None
    # `after` value of the previous (newer) page, or None on the first page.
    newer_after: int | None


def get_page(tenant, audit_filter, *, show_origin, before=None, after=None, size=PAGE_SIZE):
    """Return one AuditPage of at most `size` events in a single query.

    `before` returns the newest events with a lower sequence, `after` the oldest events with a
    higher one (shown newest first); neither gives the newest page. One extra row is fetched to
    tell whether another page follows in the direction of travel.
    """
    rows = filtered_events(tenant, audit_filter, show_origin=show_origin)
    if after is not None:
        rows = list(rows.filter(sequence__gt=after).order_by("sequence")[: size + 1])
        has_newer = len(rows) > size
        events = rows[:size][::-1]
        has_older = True
    else:
        if before is not None:
            rows = rows.filter(sequence__lt=before)
        rows = list(rows.order_by("-sequence")[: size + 1])
        has_older = len(rows) > size
        events = rows[:size]
        has_newer = before is not None

    if not events:
        return AuditPage(events=[], older_before=None, newer_after=None)
    return AuditPage(
        events=events,
        older_before=events[-1]["sequence"] if has_older else None,
        newer_after=events[0]["sequence"] if has_newer else None,
    )


def iter_export_events(tenant, audit_filter, *, show_origin, up_to_sequence):
    """Yield the matching events with sequence <= `up_to_sequence`, newest first.

    Reads EXPORT_CHUNK_SIZE rows per query by keyset, so memory stays bounded for any log size
    and no transaction stays open while the response streams to a slow client.
    """
    rows = filtered_events(tenant, audit_filter, show_origin=show_origin)
    cursor = up_to_sequence + 1
    while True:
        chunk = list(rows.filter(sequence__lt=cursor).order_by("-sequence")[:EXPORT_CHUNK_SIZE])
        yield from chunk
        if len(chunk) < EXPORT_CHUNK_SIZE:
            return
        cursor = chunk[-1]["sequence"]


def escape_formula(value):
    """Return `value` with a leading apostrophe when a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell_value(event, column):
    value = event[column]
    if column == "created_at":
        return value.isoformat()
    if column == "details":
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if value is None:
        return ""
    return value


def iter_csv_lines(events, columns):
    """Yield a CSV header line, then one line per event, with formula cells escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush():
        line = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return line

    writer.writerow(columns)
    yield flush()
    for event in events:
        writer.writerow([escape_formula(_cell_value(event, column)) for column in columns])
        yield flush()


def iter_jsonl_lines(events, columns):
    """Yield one JSON object per event and line; `details` stays a nested object."""
    for event in events:
        document = {column: event[column] for column in columns}
        document["created_at"] = event["created_at"].isoformat()
        yield json.dumps(document, ensure_ascii=False) + "\n"
