"""Clinical text never reaches the application logs: an import, API reads and a refused edit, with every
logger capturing at DEBUG."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.urls import reverse

from annotations.models import Note, ProjectMembership
from annotations.services.corpus_import import corpus_import, project_get_or_create

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "jsonl" / "good.jsonl"


def test_import_and_api_reads_log_no_note_text(world, caplog):
    caplog.set_level(logging.DEBUG)
    project = project_get_or_create(slug="imported")
    ProjectMembership.objects.create(project=project, user=world.users["admin"], role="admin")
    corpus_import(project=project, path=FIXTURE, fmt="jsonl")
    notes = list(Note.objects.filter(project=project))
    assert notes
    client = world.client("admin")
    for note in notes:
        assert client.get(reverse("api-note-detail", kwargs={"slug": "imported", "note_id": note.pk})).status_code == 200
        sets = client.get(reverse("api-note-annotation-sets", kwargs={"slug": "imported", "note_id": note.pk})).data
        for aset in sets:
            client.get(reverse("api-annotation-set-detail", kwargs={"slug": "imported", "pk": aset["id"]}))
    # A refused edit whose error message quotes the text (to the client) must not log it either.
    own = client.post(reverse("api-note-annotation-sets", kwargs={"slug": "imported", "note_id": notes[0].pk})).data
    client.put(reverse("api-annotation-set-detail", kwargs={"slug": "imported", "pk": own["id"]}),
               {"version": own["version"], "entities": [{"id": "T1", "type": "Nope", "fragments": [[0, 12]]}]},
               format="json")
    client.get(reverse("api-note-list", kwargs={"slug": "imported"}), {"search": notes[0].text[:20]})
    assert caplog.records, "nothing was logged: the capture is not working"
    logged = "\n".join(r.getMessage() + " " + repr(r.args) for r in caplog.records) + caplog.text
    for note in notes:
        for line in filter(None, (x.strip() for x in note.text.splitlines())):
            assert line[:40] not in logged, f"note text in the logs: {line[:40]!r}"
