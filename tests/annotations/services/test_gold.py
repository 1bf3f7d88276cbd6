"""One gold rule: `export_corpus --source gold` exports exactly the notes and sets a retrain trains and
judges on (issue 13, "one home per rule"); management commands are audited as the command and OS user."""

from __future__ import annotations

import getpass
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.audit.models import AuditAction, AuditEvent
from annotations.formats.schema import EntityType, Schema
from annotations.gold import gold_sets
from annotations.models import AnnotationSet, Entity, Note, NoteLabel, Project, ProjectMembership
from annotations.services.corpus_import import text_hash
from annotations.services.schemas import project_schema_set
from inference.learning.selectors import training_examples
from inference.models import ModelVersion

pytestmark = pytest.mark.django_db


def make_note(project, external_id):
    text = f"Note {external_id}: warfarin then epistaxis."
    return Note.objects.create(project=project, external_id=external_id, text=text, text_hash=text_hash(text))


def make_set(note, *, kind, status, user=None, drug=True, label=None, model_version=None):
    aset = AnnotationSet.objects.create(note=note, source_kind=kind, user=user, status=status,
                                        model_version=model_version, source_name=user.username if user else kind)
    if drug:
        start = note.text.index("warfarin")
        Entity.objects.create(annotation_set=aset, local_id="T1", type="Drug", fragments=[[start, start + 8]],
                              start=start, end=start + 8, text="warfarin")
    if label:
        NoteLabel.objects.create(annotation_set=aset, value=label)
    return aset


@pytest.fixture
def project():
    User = get_user_model()
    project = Project.objects.create(slug="gold", name="Gold")
    project_schema_set(project=project, schema=Schema(entity_types=(EntityType("Drug"),)), inferred=False)
    ann1, ann2 = User.objects.create_user("ann1"), User.objects.create_user("ann2")
    for user in (ann1, ann2):
        ProjectMembership.objects.create(project=project, user=user, role="annotator")
    expected = {}
    # an imported gold corpus note
    n = make_note(project, "imported")
    expected[n.external_id] = make_set(n, kind="import", status="gold").pk
    # a raw imported note (an empty gold import set) that one annotator then submitted: the submission counts
    n = make_note(project, "raw-then-annotated")
    make_set(n, kind="import", status="gold", drug=False)
    expected[n.external_id] = make_set(n, kind="user", status="submitted", user=ann1, label="ade").pk
    # one person's submission
    n = make_note(project, "one-submission")
    expected[n.external_id] = make_set(n, kind="user", status="submitted", user=ann2, label="no_ade").pk
    # two submissions and nobody signed one off: no gold yet
    n = make_note(project, "awaiting")
    make_set(n, kind="user", status="submitted", user=ann1, label="ade")
    make_set(n, kind="user", status="submitted", user=ann2, label="no_ade")
    # two submissions, one signed off (gold)
    n = make_note(project, "adjudicated")
    make_set(n, kind="user", status="submitted", user=ann1, label="ade")
    expected[n.external_id] = make_set(n, kind="user", status="gold", user=ann2, label="no_ade").pk
    # two submissions and a curator's finished merge: the curation is the gold, even over a sign-off
    n = make_note(project, "curated")
    make_set(n, kind="user", status="submitted", user=ann1, label="ade")
    make_set(n, kind="user", status="gold", user=ann2, label="ade")
    expected[n.external_id] = AnnotationSet.objects.create(
        note=n, source_kind="curation", user=ann1, source_name="ann1", status="gold",
        curated_from=[{"set": 0, "version": 1, "user": "ann1"}]).pk
    NoteLabel.objects.create(annotation_set_id=expected[n.external_id], value="ade")
    # two submissions and a curation still in progress: the note still awaits adjudication
    n = make_note(project, "curating")
    make_set(n, kind="user", status="submitted", user=ann1, label="ade")
    make_set(n, kind="user", status="submitted", user=ann2, label="no_ade")
    AnnotationSet.objects.create(note=n, source_kind="curation", user=ann1, source_name="ann1", status="in_progress")
    # a model's set is never gold; an in-progress set is not either
    n = make_note(project, "model-only")
    version = ModelVersion.objects.create(project=project, name="m1", path="/nonexistent")
    make_set(n, kind="model", status="gold", model_version=version)
    make_set(n, kind="user", status="in_progress", user=ann1)
    return project, expected


def test_the_gold_rule_picks_one_set_per_note_or_none(project):
    project, expected = project
    selection = gold_sets(project=project)
    chosen = {g.external_id: g.annotation_set_id for g in selection.gold}
    assert chosen == expected
    awaiting = Note.objects.filter(pk__in=selection.awaiting_adjudication).values_list("external_id", flat=True)
    assert sorted(awaiting) == ["awaiting", "curating"]


def test_export_source_gold_exports_exactly_what_a_retrain_trains_and_judges_on(project, tmp_path):
    project, _ = project
    snapshot = training_examples(project=project, heldout_fraction=0.3)
    trained = {e.note_id: e.annotation_set_id for e in snapshot.train + snapshot.heldout}
    out = tmp_path / "gold.jsonl"
    call_command("export_corpus", project="gold", format="jsonl", out=str(out), source="gold", only_annotated=True)
    exported = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    notes = dict(Note.objects.filter(project=project).values_list("external_id", "pk"))
    assert {notes[d["id"]] for d in exported} == set(trained)
    # ... and with the annotations of the very set training reads.
    for doc in exported:
        aset = AnnotationSet.objects.get(pk=trained[notes[doc["id"]]])
        assert len(doc.get("entities", [])) == aset.entities.count()
        label = NoteLabel.objects.filter(annotation_set=aset).values_list("value", flat=True).first()
        assert doc.get("label") == label


def test_a_management_command_is_audited_as_the_command_and_the_os_user(project, tmp_path):
    out = tmp_path / "x.jsonl"
    call_command("export_corpus", project="gold", format="jsonl", out=str(out), source="gold")
    [run] = AuditEvent.objects.filter(action=AuditAction.COMMAND)
    assert run.actor is None
    assert run.actor_username == f"{getpass.getuser()} (manage.py export_corpus)"
    assert run.details["command"] == "export_corpus" and run.details["succeeded"] is True
    assert run.details["options"]["format"] == "jsonl"
    assert run.project.slug == "gold"
