from django.db import migrations, models

# Audit rows are append-only for the portal's database role. Only code that first sets
# portal.audit_maintenance for its own transaction (retention and tenant deletion, through
# tenants.audit_chain.audit_maintenance) may update or delete them. SQLite, used only by the
# demo, gets no trigger.
# NOTE: TRUNCATE is not blocked, because Django's test runner flushes tables with it. The hash
# chain and the checkpoints still reveal a truncated log.
CREATE_TRIGGERS = """
CREATE OR REPLACE FUNCTION tenants_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('portal.audit_maintenance', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'permission denied: audit events are append-only (% rejected)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON tenants_auditevent
    FOR EACH ROW EXECUTE FUNCTION tenants_auditevent_append_only();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS tenants_auditevent_no_update_delete ON tenants_auditevent;
DROP FUNCTION IF EXISTS tenants_auditevent_append_only();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_TRIGGERS, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGERS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_invitation"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="start_sequence",
            field=models.BigIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="start_previous_hash",
            field=models.CharField(default="0" * 64, max_length=64),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
