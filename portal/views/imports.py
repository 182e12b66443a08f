"""Importing contacts from a CSV file: upload, map the columns with a preview, run as a batch job.

Between the upload and the start, the parsed file waits in the cache for at most
IMPORT_UPLOAD_TTL_SECONDS. It is encrypted with the tenant's vault keyset, with associated data
naming the tenant, the upload and the user, so no other tenant or user can read it. Once the
import starts, the rows travel only inside the job's encrypted payload.
"""

import json
import uuid

import tink
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_http_methods, require_POST
from tink import aead

from connector.actor import Actor
from connector.jobs import config as job_config
from connector.jobs.create import batch_upsert_job, create_job
from connector.models import Connection
from connector.vault import VaultError, tenant_keys
from portal import contact_csv
from tenants.access import check_permission, require_permission, tenant_required

PREVIEW_ROWS = 5


def max_upload_bytes():
    """IMPORT_MAX_BYTES (default 2 MiB): the largest CSV file an import accepts."""
    return int(getattr(settings, "IMPORT_MAX_BYTES", 2 * 1024 * 1024))


def upload_ttl_seconds():
    """IMPORT_UPLOAD_TTL_SECONDS (default 3600): how long an upload waits to be started."""
    return int(getattr(settings, "IMPORT_UPLOAD_TTL_SECONDS", 60 * 60))


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 text, with one contact per line and a header line, such as Keap's "
        "contact export.",
    )
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.none(),
        label="Keap account",
        empty_label=None,
        to_field_name="public_id",
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["connection"].queryset = Connection.objects.for_tenant(tenant).filter(
            status=Connection.Status.ACTIVE
        )
        self.fields["file"].help_text += f" At most {filesizeformat(max_upload_bytes())} and " + (
            f"{job_config.max_batch_rows()} contacts."
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the maximum is "
                f"{filesizeformat(max_upload_bytes())}. Split it into smaller files."
            )
        try:
            self.parsed = contact_csv.read_csv(upload.read(), max_rows=job_config.max_batch_rows())
        except contact_csv.CsvError as error:
            raise forms.ValidationError(str(error)) from None
        return upload


class MappingForm(forms.Form):
    """One select per column of the file, named column_0, column_1, ..."""

    def __init__(self, *args, headers, initial_mapping, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(contact_csv.IGNORE, "Do not import")] + [
            (name, label) for name, label, _names in contact_csv.FIELDS
        ]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                choices=choices,
                required=False,
                initial=initial_mapping[index],
                label=header or f"Column {index + 1} (no header)",
            )
        self.column_count = len(headers)

    def mapping(self):
        return [self.cleaned_data.get(f"column_{index}", "") for index in range(self.column_count)]

    def clean(self):
        cleaned = super().clean()
        chosen = [value for value in self.mapping() if value]
        if "email" not in chosen:
            raise forms.ValidationError(
                "Choose the column that holds the email address: Keap matches contacts by it."
            )
        doubled = sorted({value for value in chosen if chosen.count(value) > 1})
        if doubled:
            labels = ", ".join(contact_csv.FIELD_LABELS[value] for value in doubled)
            raise forms.ValidationError(f"Choose each field for one column only: {labels}.")
        return cleaned


@require_http_methods(["GET", "POST"])
@require_permission("connection.use")
def import_upload(request):
    form = UploadForm(request.POST or None, request.FILES or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        document = {
            "headers": form.parsed.headers,
            "rows": form.parsed.rows,
            "filename": form.cleaned_data["file"].name[:200],
            "connection": str(form.cleaned_data["connection"].public_id),
        }
        upload_id = store_upload(request.tenant, request.user, document)
        return redirect("import_map", upload_id=upload_id)

    status = 400 if form.errors else 200
    ctx = {"form": form, "has_connection": form.fields["connection"].queryset.exists()}
    return render(request, "portal/imports/upload.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@tenant_required
def import_map(request, upload_id):
    """Show the column mapping and a preview; a POST only previews another mapping."""
    upload = _load_upload(request, upload_id)
    parsed = contact_csv.ParsedFile(upload["headers"], upload["rows"])
    form = _mapping_form(request.POST or None, parsed)
    mapping = form.mapping() if form.is_bound and form.is_valid() else form_initial(form, parsed)
    return _render_mapping(request, upload_id, upload, parsed, form, mapping)


@require_POST
@tenant_required
def import_start(request, upload_id):
    upload = _load_upload(request, upload_id)
    parsed = contact_csv.ParsedFile(upload["headers"], upload["rows"])
    form = _mapping_form(request.POST, parsed)
    if not form.is_valid():
        return _render_mapping(
            request, upload_id, upload, parsed, form, form_initial(form, parsed), 400
        )

    rows = contact_csv.build_rows(parsed, form.mapping())
    batch = [row.batch_row for row in rows if row.batch_row is not None]
    if not batch:
        form.add_error(None, "No row has a valid email address, so there is nothing to import.")
        return _render_mapping(request, upload_id, upload, parsed, form, form.mapping(), 400)

    connection = _active_connection(request, upload["connection"])
    if connection is None:
        messages.error(
            request,
            "The Keap connection is no longer active. Choose another and upload the file again.",
        )
        return redirect("import_upload")

    job, _created = create_job(
        batch_upsert_job(batch),
        connection=connection,
        actor=Actor.for_user(request.user),
        created_by=request.user,
        request=request,
    )
    cache.delete(_cache_key(upload_id))
    skipped = len(rows) - len(batch)
    messages.success(
        request,
        f"Importing {len(batch)} contacts into {connection.label}."
        + (f" Skipped {skipped} without a valid email address." if skipped else ""),
    )
    return redirect("job_detail", job_id=job.public_id)


def form_initial(form, parsed):
    return [form.fields[f"column_{index}"].initial for index in range(len(parsed.headers))]


def _mapping_form(data, parsed):
    return MappingForm(
        data, headers=parsed.headers, initial_mapping=contact_csv.guess_mapping(parsed.headers)
    )


def _render_mapping(request, upload_id, upload, parsed, form, mapping, status=200):
    rows = contact_csv.build_rows(parsed, mapping) if "email" in mapping else []
    problems = [row for row in rows if row.error or row.warnings]
    ctx = {
        "upload_id": upload_id,
        "upload": upload,
        "form": form,
        "headers": parsed.headers,
        "mapped_preview": _mapped_preview(parsed, mapping),
        "row_count": len(parsed.rows),
        "valid_count": sum(1 for row in rows if row.batch_row is not None),
        "problems": problems[:50],
        "problem_count": len(problems),
        "email_mapped": "email" in mapping,
    }
    return render(request, "portal/imports/map.html", ctx, status=status)


def _mapped_preview(parsed, mapping):
    """Return (field labels, rows of values) of the first rows as the mapping reads them."""
    columns = [(index, name) for index, name in enumerate(mapping) if name]
    labels = [contact_csv.FIELD_LABELS[name] for _index, name in columns]
    rows = [[row[index] for index, _name in columns] for row in parsed.rows[:PREVIEW_ROWS]]
    return labels, rows


def _active_connection(request, connection_public_id):
    return (
        Connection.objects.for_tenant(request.tenant)
        .filter(public_id=connection_public_id, status=Connection.Status.ACTIVE)
        .first()
    )


# --- The encrypted upload in the cache ---------------------------------------------------------


def _cache_key(upload_id):
    return f"portal:import:{upload_id}"


def _associated_data(tenant, upload_id, user):
    return f"portal.import|tenant={tenant.public_id}|upload={upload_id}|user={user.pk}".encode()


def store_upload(tenant, user, document):
    """Encrypt `document` (headers, rows, filename, connection) into the cache; return its id."""
    upload_id = uuid.uuid4()
    plaintext = json.dumps(document, ensure_ascii=False).encode()
    with transaction.atomic():
        handle = tenant_keys.get_or_create_handle_for_encrypt(tenant)
        ciphertext = handle.primitive(aead.Aead).encrypt(
            plaintext, _associated_data(tenant, upload_id, user)
        )
    entry = {"tenant": str(tenant.public_id), "user": user.pk, "ciphertext": ciphertext}
    cache.set(_cache_key(upload_id), entry, timeout=upload_ttl_seconds())
    return upload_id


def _load_upload(request, upload_id):
    """Return the decrypted upload, or raise Http404 when it is missing, expired or not ours.

    Then raises PermissionDenied unless the role may use connections, in the order of
    `access_object`, so a foreign upload id is a 404 for every role.
    """
    entry = cache.get(_cache_key(upload_id))
    if (
        not entry
        or entry.get("tenant") != str(request.tenant.public_id)
        or entry.get("user") != request.user.pk
    ):
        raise Http404("No upload matches the given id; it may have expired.")
    try:
        handle = tenant_keys.load_handle(request.tenant)
        plaintext = handle.primitive(aead.Aead).decrypt(
            entry["ciphertext"], _associated_data(request.tenant, upload_id, request.user)
        )
    except (VaultError, tink.TinkError):
        raise Http404("No upload matches the given id; it may have expired.") from None

    check_permission(request, "connection.use")
    return json.loads(plaintext)
