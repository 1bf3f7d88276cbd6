"""Schema editing on the real database: renames and merges rewrite annotations, schema references, versions
and undo history in one transaction; a change that would orphan annotations is refused with counts and
writes nothing; every change is audited with names and counts only."""

from __future__ import annotations

import zipfile

import pytest

from annotations.audit.models import AuditAction, AuditEvent
from annotations.errors import ApplicationError, ConflictError, OrphanedAnnotationsError
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Attribute, Document, Entity, Event, Relation, Span
from annotations.models import (
    AnnotationEdit,
    AnnotationSchema,
    AnnotationSet,
    Note,
    Project,
    ProjectMembership,
)
from annotations.models import Entity as EntityRow
from annotations.models import Event as EventRow
from annotations.models import Relation as RelationRow
from annotations.services import editing
from annotations.services.corpus_export import corpus_export
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.schema_editing import (
    schema_conf_replace,
    schema_conf_texts,
    schema_type_rename,
    schema_type_rename_plan,
    schema_type_style_set,
    schema_types_add,
)
from annotations.services.schemas import project_schema_get, project_schema_set

pytestmark = pytest.mark.django_db

CONF = """[entities]
Drug
Medication
Adverse-Effect
Disease

[relations]
Adverse-Effect Arg1:Drug|Medication, Arg2:Adverse-Effect
Treats Arg1:Drug, Arg2:Disease

[events]
Treatment Agent:Drug

[attributes]
Negation Arg:Adverse-Effect
"""
VISUAL = """[labels]
Drug | Drug name

[drawing]
Drug bgColor:#8fb8ff
Medication bgColor:teal
"""
TEXTS = [
    "Warfarin caused bleeding; warfarin stopped.",
    "Metformin for diabetes, started today.",
    "Aspirin given; no rash.",
]


def _span(text: str, word: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return start, start + len(word)


def _entity(text: str, local_id: str, type_: str, word: str, nth: int = 0) -> Entity:
    s, e = _span(text, word, nth)
    return Entity(local_id, type_, (Span(s, e),), text[s:e])


@pytest.fixture
def world(django_user_model):
    """A project with gold (imported) annotations on note 1, an annotator's set on note 2, a model set on
    note 3: 4 Drug entities in 3 notes."""
    project = Project.objects.create(slug="sch", name="Schema project", ade_evidence_relation_types=["Adverse-Effect"])
    project_schema_set(project=project, schema=load_schema(CONF, VISUAL), inferred=False, annotation_conf=CONF,
                       visual_conf=VISUAL)
    admin = django_user_model.objects.create_user("admin", password="pw")
    annotator = django_user_model.objects.create_user("annotator", password="pw")
    ProjectMembership.objects.create(project=project, user=admin, role="admin")
    ProjectMembership.objects.create(project=project, user=annotator, role="annotator")
    notes = [
        Note.objects.create(project=project, external_id=f"n{i}", text=t, text_hash=text_hash(t))
        for i, t in enumerate(TEXTS, start=1)
    ]
    t1, t2, t3 = TEXTS
    gold = AnnotationSet.objects.create(note=notes[0], source_kind="import", source_name="seed", status="gold")
    mine = AnnotationSet.objects.create(note=notes[1], source_kind="user", user=annotator, source_name="annotator",
                                        status="in_progress")
    from inference.models import ModelVersion

    model = ModelVersion.objects.create(project=project, name="m1", path="/nonexistent")
    predicted = AnnotationSet.objects.create(note=notes[2], source_kind="model", model_version=model, source_name="m1",
                                             status="pre_annotated")
    annotation_sets_write([
        (gold, Document(
            id="n1", text=t1,
            entities=(_entity(t1, "T1", "Drug", "Warfarin"), _entity(t1, "T2", "Adverse-Effect", "bleeding"),
                      _entity(t1, "T3", "Drug", "warfarin"), _entity(t1, "T4", "Treatment", "stopped")),
            relations=(Relation("R1", "Adverse-Effect", "T1", "T2"),),
            events=(Event("E1", "Treatment", "T4", (("Agent", "T3"),)),),
            attributes=(Attribute("A1", "Negation", "T2"),),
        )),
        (mine, Document(
            id="n2", text=t2,
            entities=(_entity(t2, "T1", "Drug", "Metformin"), _entity(t2, "T2", "Disease", "diabetes")),
            relations=(Relation("R1", "Treats", "T1", "T2"),),
        )),
        (predicted, Document(id="n3", text=t3, entities=(_entity(t3, "T1", "Drug", "Aspirin"),))),
    ], origin="import")
    return {"project": project, "admin": admin, "annotator": annotator, "notes": notes, "gold": gold, "mine": mine,
            "predicted": predicted}


def _types(model, project) -> list[str]:
    return sorted(model.objects.filter(annotation_set__note__project=project).values_list("type", flat=True))


def _audits(project) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(project=project, action=AuditAction.SCHEMA_CHANGE).order_by("pk"))


# --- rename ----------------------------------------------------------------------------------------------


def test_renaming_a_type_rewrites_its_annotations_and_the_brat_export_shows_the_new_name(world, tmp_path):
    project = world["project"]
    result = schema_type_rename(project=project, by=world["admin"], kind="entity", old="Drug", new="Medicine")

    assert result.counts == {"entities": 4} and result.notes == 3 and result.annotation_sets == 3
    assert not result.merge
    assert "Drug" not in _types(EntityRow, project) and _types(EntityRow, project).count("Medicine") == 4
    out = tmp_path / "export.zip"
    assert corpus_export(project=project, out=out, fmt="brat", source="gold") == 3
    with zipfile.ZipFile(out) as archive:
        ann = {name: archive.read(name).decode() for name in archive.namelist() if name.endswith(".ann")}
        conf = archive.read(next(n for n in archive.namelist() if n.endswith("annotation.conf"))).decode()
    n1 = next(text for name, text in ann.items() if name.endswith("n1.ann"))
    assert "T1\tMedicine 0 8\tWarfarin" in n1 and "Drug" not in n1
    assert "Medicine" in conf and "Drug" not in conf


def test_a_rename_rewrites_every_reference_in_the_schema_and_its_conf_texts(world):
    project = world["project"]
    schema_type_rename(project=project, by=world["admin"], kind="entity", old="Drug", new="Medicine")
    schema = project_schema_get(project=project)
    assert [t.name for t in schema.entity_types][0] == "Medicine"
    assert next(r for r in schema.relation_types if r.name == "Treats").arg1_types == ("Medicine",)
    assert schema.event_types[0].roles[0].types == ("Medicine",)
    assert schema.visual["Medicine"].label == "Drug name" and "Drug" not in schema.visual
    _, annotation_conf, visual_conf = schema_conf_texts(project=project)
    assert load_schema(annotation_conf, visual_conf) == schema


def test_a_rename_bumps_the_version_of_every_set_it_touches_and_clears_their_undo_history(world):
    project, mine = world["project"], world["mine"]
    editing.entity_create(annotation_set=mine, expected_version=mine.version, type="Drug", spans=[(24, 31)],
                          user=world["annotator"])
    mine.refresh_from_db()
    before = {s.pk: (s.version, s.updated_at) for s in AnnotationSet.objects.all()}
    assert AnnotationEdit.objects.filter(annotation_set=mine).exists()

    schema_type_rename(project=project, by=world["admin"], kind="entity", old="Drug", new="Medicine")

    for aset in AnnotationSet.objects.all():
        assert aset.version == before[aset.pk][0] + 1, aset.source_kind
        assert aset.updated_at == before[aset.pk][1]  # which set is a note's gold or newest does not change
    assert not AnnotationEdit.objects.filter(annotation_set=mine).exists()
    # An editor still open at the old version is refused instead of writing "Drug" back.
    with pytest.raises(ConflictError):
        editing.entity_create(annotation_set=mine, expected_version=before[mine.pk][0], type="Drug",
                              spans=[(0, 9)], user=world["annotator"])


def test_a_rename_leaves_sets_that_do_not_hold_the_type_alone(world):
    project, predicted = world["project"], world["predicted"]
    version = predicted.version
    result = schema_type_rename(project=project, by=world["admin"], kind="entity", old="Disease", new="Condition")
    assert result.annotation_sets == 1
    predicted.refresh_from_db()
    assert predicted.version == version


def test_renaming_an_event_type_renames_its_events_and_their_triggers(world):
    project = world["project"]
    result = schema_type_rename(project=project, by=world["admin"], kind="event", old="Treatment", new="Administration")
    assert result.counts == {"events": 1, "entities": 1}
    assert _types(EventRow, project) == ["Administration"]
    assert "Administration" in _types(EntityRow, project) and "Treatment" not in _types(EntityRow, project)


def test_a_name_that_is_both_an_entity_and_an_event_type_is_not_renamed(world):
    project = world["project"]
    both = load_schema(CONF.replace("Disease\n", "Disease\nTreatment\n", 1), VISUAL)
    project_schema_set(project=project, schema=both, inferred=False)
    with pytest.raises(ApplicationError) as info:
        schema_type_rename(project=project, by=world["admin"], kind="event", old="Treatment", new="Therapy")
    assert info.value.code == "ambiguous_type"


def test_a_relation_rename_renames_the_projects_ade_evidence_setting(world):
    project = world["project"]
    schema_type_rename(project=project, by=world["admin"], kind="relation", old="Adverse-Effect", new="ADE")
    project.refresh_from_db()
    assert project.ade_evidence_relation_types == ["ADE"]
    assert _types(RelationRow, project) == ["ADE", "Treats"]
    # The entity type of the same name is another type: it keeps its name and annotations.
    assert "Adverse-Effect" in _types(EntityRow, project)


def test_merging_a_type_into_another_of_its_kind_moves_its_annotations(world):
    project = world["project"]
    plan = schema_type_rename_plan(project=project, kind="entity", old="Drug", new="Medication")
    assert plan.merge and plan.describe() == "4 entities in 3 notes" and not plan.breaks

    result = schema_type_rename(project=project, by=world["admin"], kind="entity", old="Drug", new="Medication")

    assert result.merge and result.counts == {"entities": 4}
    assert _types(EntityRow, project).count("Medication") == 4
    schema = project_schema_get(project=project)
    assert "Drug" not in [t.name for t in schema.entity_types]
    assert next(r for r in schema.relation_types if r.name == "Adverse-Effect").arg1_types == ("Medication",)
    assert schema.visual["Medication"].colour == "teal"  # the target keeps its own colour
    assert _audits(project)[-1].details["operation"] == "merge"


def test_a_merge_that_would_break_the_targets_rules_is_refused_with_counts(world):
    project = world["project"]
    stored_before = AnnotationSchema.objects.get(project=project).definition
    with pytest.raises(OrphanedAnnotationsError) as info:
        schema_type_rename(project=project, by=world["admin"], kind="relation", old="Treats", new="Adverse-Effect")
    error = info.value
    assert error.code == "merge_breaks_annotations" and error.status == 409
    (orphan,) = error.orphans
    assert (orphan["kind"], orphan["type"], orphan["annotations"], orphan["notes"]) == ("relation", "Treats", 1, 1)
    assert "T2 is a Disease" in orphan["examples"][0] and "diabetes" not in orphan["examples"][0]
    assert _types(RelationRow, project) == ["Adverse-Effect", "Treats"]  # nothing written
    assert AnnotationSchema.objects.get(project=project).definition == stored_before
    assert not _audits(project)


@pytest.mark.parametrize(
    "kind,old,new,code",
    [
        ("entity", "Drug", "Treats", "cross_kind"),
        ("entity", "Drug", "has space", "bad_name"),
        ("entity", "Drug", "<script>", "bad_name"),
        ("entity", "Nope", "X", "unknown_type"),
    ],
)
def test_invalid_renames_are_refused_and_write_nothing(world, kind, old, new, code):
    project = world["project"]
    with pytest.raises(ApplicationError) as info:
        schema_type_rename(project=project, by=world["admin"], kind=kind, old=old, new=new)
    assert info.value.code == code
    assert _types(EntityRow, project).count("Drug") == 4
    assert not _audits(project)


def test_a_rename_is_audited_with_names_and_counts_only(world):
    project = world["project"]
    schema_type_rename(project=project, by=world["admin"], kind="entity", old="Drug", new="Medicine")
    (record,) = _audits(project)
    assert record.actor == world["admin"] and record.object_type == "schema"
    assert record.details == {"operation": "rename", "kind": "entity", "old": "Drug", "new": "Medicine",
                              "rewritten": {"entities": 4}, "notes": 3, "annotation_sets": 3}


# --- annotation.conf / visual.conf ------------------------------------------------------------------------


def test_a_change_that_would_orphan_annotations_is_refused_with_counts(world):
    project = world["project"]
    without_drug = CONF.replace("Drug\n", "").replace("Drug|", "").replace("Arg1:Drug", "Arg1:Medication")
    without_drug = without_drug.replace("Agent:Drug", "Agent:Medication")
    stored_before = AnnotationSchema.objects.get(project=project)

    with pytest.raises(OrphanedAnnotationsError) as info:
        schema_conf_replace(project=project, by=world["admin"], annotation_conf=without_drug, visual_conf=VISUAL)

    error = info.value
    assert error.code == "schema_orphans" and error.status == 409
    drug = next(o for o in error.orphans if o["type"] == "Drug" and o["kind"] == "entity")
    assert (drug["annotations"], drug["notes"], drug["reason"]) == (4, 3, "removed from the schema")
    assert drug["summary"] == "Drug: 4 entities in 3 notes"
    assert "Drug: 4 entities in 3 notes" in error.message
    stored = AnnotationSchema.objects.get(project=project)
    assert (stored.definition, stored.annotation_conf, stored.updated_at) == (
        stored_before.definition, stored_before.annotation_conf, stored_before.updated_at)
    assert not _audits(project)


def test_narrowing_a_relations_arguments_is_refused_for_the_relations_it_breaks(world):
    project = world["project"]
    narrower = CONF.replace("Treats Arg1:Drug, Arg2:Disease", "Treats Arg1:Medication, Arg2:Disease")
    with pytest.raises(OrphanedAnnotationsError) as info:
        schema_conf_replace(project=project, by=world["admin"], annotation_conf=narrower, visual_conf=VISUAL)
    (orphan,) = info.value.orphans
    assert (orphan["kind"], orphan["type"], orphan["reason"]) == ("relation", "Treats", "would break the new schema's rules")


def test_making_a_type_in_use_a_grouping_node_is_refused(world):
    project = world["project"]
    grouping = CONF.replace("Disease\n", "!Disease\n", 1)
    with pytest.raises(OrphanedAnnotationsError) as info:
        schema_conf_replace(project=project, by=world["admin"], annotation_conf=grouping, visual_conf=VISUAL)
    (orphan,) = info.value.orphans
    assert (orphan["kind"], orphan["type"], orphan["annotations"]) == ("entity", "Disease", 1)
    assert "grouping type" in orphan["examples"][0]


def test_removing_an_event_type_in_use_counts_its_events_and_their_triggers(world):
    project = world["project"]
    without_events = CONF.replace("Treatment Agent:Drug\n", "")
    with pytest.raises(OrphanedAnnotationsError) as info:
        schema_conf_replace(project=project, by=world["admin"], annotation_conf=without_events, visual_conf=VISUAL)
    assert sorted(o["summary"] for o in info.value.orphans) == ["Treatment: 1 entity in 1 note",
                                                                 "Treatment: 1 event in 1 note"]

def test_conf_problems_are_reported_with_file_and_line_and_nothing_is_written(world):
    project = world["project"]
    broken = CONF.replace("Treats Arg1:Drug, Arg2:Disease", "Treats Arg1:Drug")
    with pytest.raises(ApplicationError) as info:
        schema_conf_replace(project=project, by=world["admin"], annotation_conf=broken,
                            visual_conf="[drawing]\nDrug bgColor:red}#note-text{color:red\n")
    error = info.value
    assert error.code == "schema_invalid" and error.status == 400
    assert {"file": "annotation.conf", "line": 9, "message": "Treats: a relation needs exactly two arguments"} in error.details
    assert any(p["file"] == "visual.conf" and p["line"] == 2 for p in error.details)
    assert "annotation.conf:9:" in error.message
    assert AnnotationSchema.objects.get(project=project).annotation_conf == CONF


def test_a_conf_that_keeps_every_type_in_use_is_saved_with_its_texts_and_audited(world):
    project = world["project"]
    wider = CONF.replace("Disease\n\n[relations]", "Disease\nRoute\n\n[relations]") + "# a comment\n"
    AnnotationSchema.objects.filter(project=project).update(inferred=True)
    schema = schema_conf_replace(project=project, by=world["admin"], annotation_conf=wider, visual_conf=VISUAL)
    stored = AnnotationSchema.objects.get(project=project)
    assert "Route" in [t.name for t in schema.entity_types]
    assert stored.annotation_conf == wider and not stored.inferred  # the text as given, comments included
    (record,) = _audits(project)
    assert record.details["operation"] == "conf_replace" and record.details["added"] == ["entity:Route"]


# --- display names, colours, adding types -------------------------------------------------------------


def test_a_types_display_name_and_colour_are_saved_and_audited(world):
    project = world["project"]
    schema_type_style_set(project=project, by=world["admin"], name="Disease", label="Diagnosis", colour="#c7e9a0")
    schema = project_schema_get(project=project)
    assert schema.display_name("Disease") == "Diagnosis" and schema.visual["Disease"].colour == "#c7e9a0"
    _, _, visual_conf = schema_conf_texts(project=project)
    assert "Disease | Diagnosis" in visual_conf and "Disease\tbgColor:#c7e9a0" in visual_conf
    assert _audits(project)[-1].details == {"operation": "style", "type": "Disease", "label": "Diagnosis",
                                            "colour": "#c7e9a0"}


@pytest.mark.parametrize(
    "label,colour,code",
    [
        ("ok", "red}#note-text{color:red", "bad_colour"),
        ("ok", "url(javascript:alert(1))", "bad_colour"),
        ("two\nlines", "", "bad_label"),
        ("x" * 61, "", "bad_label"),
    ],
)
def test_a_hostile_display_name_or_colour_is_refused(world, label, colour, code):
    project = world["project"]
    with pytest.raises(ApplicationError) as info:
        schema_type_style_set(project=project, by=world["admin"], name="Drug", label=label, colour=colour)
    assert info.value.code == code
    assert project_schema_get(project=project).visual["Drug"].colour == "#8fb8ff"


def test_adding_types_adds_only_the_missing_ones(world):
    project = world["project"]
    added = schema_types_add(project=project, by=world["admin"], entity_types=("Drug", "Route"),
                             relation_types=("Has-Route",))
    assert added == [("entity", "Route"), ("relation", "Has-Route")]
    schema = project_schema_get(project=project)
    assert "Route" in [t.name for t in schema.entity_types]
    assert _audits(project)[-1].details == {"operation": "types_add", "added": ["entity:Route", "relation:Has-Route"]}
    assert schema_types_add(project=project, by=world["admin"], entity_types=("Drug",)) == []
