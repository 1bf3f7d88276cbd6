"""A GET writes no row but its audit record (issue 13, finding 3): opening pages, panels and API reads as
every role leaves every table but the audit trail as it was; the editor's own set waits for the first edit."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

AUDIT = "annotations_auditevent"


def row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names from the introspection
            counts[table] = cursor.fetchone()[0]
    return counts


def test_no_get_of_any_page_writes_a_row_but_the_audit_record(client, ui):
    note, patient = ui["note"], ui["patient"]
    pages = [
        "/", "/projects/ui/", "/projects/ui/queue/", f"/projects/ui/notes/{note.pk}/", f"/projects/ui/notes/{note.pk}/?mine=1",
        f"/projects/ui/notes/{note.pk}/entities/T1/", f"/projects/ui/notes/{note.pk}/relation-form/?head=T1&tail=T3",
        f"/projects/ui/patients/{patient.pk}/", "/projects/ui/models/", "/projects/ui/annotate/", "/projects/ui/annotate/next/",
        "/projects/ui/jobs/", "/projects/ui/risk/", f"/projects/ui/risk/{patient.pk}/", "/api/projects/",
        f"/api/projects/ui/notes/{note.pk}/", f"/api/projects/ui/notes/{note.pk}/annotation-sets/",
    ]
    before = row_counts()
    for role in ("annotator", "reviewer", "admin"):
        client.force_login(ui["users"][role])
        for page in pages:
            headers = {"HTTP_HX_REQUEST": "true"} if "entities" in page else {}
            assert client.get(page, **headers).status_code in (200, 302), (role, page)
    after = row_counts()
    changed = {t: (before[t], after[t]) for t in after if before.get(t) != after[t]}
    assert set(changed) <= {AUDIT, "django_session"}, changed  # force_login writes the sessions
