"""The audit trail cannot be wiped: TRUNCATE is refused by a trigger (PostgreSQL), whoever sends it.

Row triggers (migration 0004) refuse UPDATE and DELETE but TRUNCATE fires no row trigger; a statement
trigger closes that. The table's owner can still drop or disable triggers: production runs the app as a
role that does not own the table (`manage.py setup_db_roles`, README "Security"). SQLite (the demo) has no
TRUNCATE, so nothing is done there. Also records the new `access_denied` and `command` actions in the field's
choices.
"""

from django.db import migrations, models

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION annotations_auditevent_no_truncate() RETURNS trigger AS $$
BEGIN
    -- Only the test settings connect with this on (Django's test flush TRUNCATEs every table). It is no
    -- back door: TRUNCATE needs the privilege, which only the tables' owner has, and an owner can drop
    -- triggers anyway; what keeps an owner out is running the app as another role (manage.py setup_db_roles).
    IF current_setting('ade_review.allow_audit_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only (TRUNCATE refused)' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
---
CREATE TRIGGER annotations_auditevent_no_truncate BEFORE TRUNCATE ON annotations_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION annotations_auditevent_no_truncate();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS annotations_auditevent_no_truncate ON annotations_auditevent;
---
DROP FUNCTION IF EXISTS annotations_auditevent_no_truncate();
"""


def _run(sql: str):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in sql.split("---"):
            if statement.strip():
                schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("annotations", "0007_audit_note_create_model_change")]
    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("note_view", "Note viewed"), ("annotation_change", "Annotations changed"),
                    ("sign_off", "Signed off"), ("job_start", "Job started"), ("job_cancel", "Job cancelled"),
                    ("export", "Export"), ("download", "Download"), ("login_success", "Login"),
                    ("login_failure", "Failed login"), ("note_create", "Note created"),
                    ("model_change", "Retrain policy or active model changed"), ("access_denied", "Access denied"),
                    ("command", "Management command"),
                ],
                max_length=30,
            ),
        ),
        migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN)),
    ]
