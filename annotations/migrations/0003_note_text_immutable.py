"""The note text is what every offset points into: the database refuses to change it."""

from django.db import migrations

POSTGRES_UP = """
CREATE OR REPLACE FUNCTION annotations_note_text_immutable() RETURNS trigger AS $$
BEGIN
    IF NEW.text IS DISTINCT FROM OLD.text OR NEW.text_hash IS DISTINCT FROM OLD.text_hash THEN
        RAISE EXCEPTION 'note text is immutable (note %)', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
---
CREATE TRIGGER annotations_note_text_immutable BEFORE UPDATE ON annotations_note
    FOR EACH ROW EXECUTE FUNCTION annotations_note_text_immutable();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS annotations_note_text_immutable ON annotations_note;
---
DROP FUNCTION IF EXISTS annotations_note_text_immutable();
"""
SQLITE_UP = """
CREATE TRIGGER annotations_note_text_immutable BEFORE UPDATE OF text, text_hash ON annotations_note
WHEN NEW.text IS NOT OLD.text OR NEW.text_hash IS NOT OLD.text_hash
BEGIN SELECT RAISE(ABORT, 'note text is immutable'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS annotations_note_text_immutable;"


def _run(sql_by_vendor):
    def apply(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        for statement in (sql or "").split("---"):
            if statement.strip():
                schema_editor.execute(statement, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("annotations", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
