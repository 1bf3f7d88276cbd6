"""Events edited in a person's set, each edit undone exactly, and "Correct these": a person's set started as a
copy of the note's imported annotations, with provenance (issue 14, "Imported corpora, events and schemas")."""

from __future__ import annotations

import pytest

from annotations.audit.models import AuditEvent
from annotations.audit.structures import annotation_structure
from annotations.errors import ApplicationError
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Document, Entity, Event, Relation, Span
from annotations.models import (
    AnnotationEdit,
    AnnotationSet,
    Attribute,
    EventArgument,
    Note,
    NoteLabel,
    ProjectMembership,
)
from annotations.models import Entity as EntityRow
from annotations.models import Event as EventRow
from annotations.models import Relation as RelationRow
from annotations.services import editing
from annotations.services.corpus_import import project_get_or_create, text_hash
from annotations.services.document_store import annotation_sets_to_documents, annotation_sets_write
from annotations.services.schemas import project_schema_set

pytestmark = pytest.mark.django_db

CONF = """[entities]
Drug
Adverse-Effect

[relations]
ADE\tArg1:Drug, Arg2:Adverse-Effect
Follows\tArg1:Administration, Arg2:<ENTITY>

[events]
Administration\tTheme:Drug, Cause?:Administration

[attributes]
Negation\tArg:Adverse-Effect
"""
TEXT = "Warfarin was given, then started again; bleeding followed."


def _span(word: str) -> tuple[int, int]:
    start = TEXT.index(word)
    return start, start + len(word)


def _entity(local_id: str, type_: str, word: str) -> Entity:
    s, e = _span(word)
    return Entity(local_id, type_, (Span(s, e),), word)


DOCUMENT = Document(
    id="n1",
    text=TEXT,
    entities=(
        _entity("T1", "Drug", "Warfarin"),
        _entity("T2", "Administration", "given"),
        _entity("T3", "Administration", "started"),
        _entity("T4", "Adverse-Effect", "bleeding"),
    ),
    events=(Event("E1", "Administration", "T2", (("Theme", "T1"),)),),
    relations=(Relation("R1", "ADE", "T1", "T4"), Relation("R2", "Follows", "E1", "T4")),
    label="ade",
)


@pytest.fixture
def world(django_user_model):
    project = project_get_or_create(slug="ev")
    project_schema_set(project=project, schema=load_schema(CONF), inferred=False)
    note = Note.objects.create(project=project, external_id="n1", text=TEXT, text_hash=text_hash(TEXT))
    users = {}
    for name, role in (("annotator", "annotator"), ("outsider", None)):
        users[name] = django_user_model.objects.create_user(username=name, password="pw")
        if role:
            ProjectMembership.objects.create(project=project, user=users[name], role=role)
    imported = AnnotationSet.objects.create(note=note, source_kind="import", source_name="corpus-a", status="gold")
    annotation_sets_write([(imported, DOCUMENT)], origin="import")
    return {"project": project, "note": note, "users": users, "imported": imported}


def snapshot(aset: AnnotationSet) -> dict:
    """Every row of the set as stored (ids, times and decisions included)."""
    return {
        "entities": list(EntityRow.objects.filter(annotation_set=aset).order_by("pk").values()),
        "events": list(EventRow.objects.filter(annotation_set=aset).order_by("pk").values()),
        "arguments": list(EventArgument.objects.filter(event__annotation_set=aset).order_by("pk").values()),
        "relations": list(RelationRow.objects.filter(annotation_set=aset).order_by("pk").values()),
        "attributes": list(Attribute.objects.filter(annotation_set=aset).order_by("pk").values()),
        "label": list(NoteLabel.objects.filter(annotation_set=aset).values()),
    }


def own_copy(world) -> AnnotationSet:
    return editing.annotation_set_copy_for_correction(
        note=world["note"], user=world["users"]["annotator"], source=world["imported"]
    )


def test_correct_these_copies_the_imported_annotations_with_where_they_came_from(world):
    imported_before = snapshot(world["imported"])

    own = own_copy(world)

    assert own.source_kind == "user" and own.copied_from_id == world["imported"].pk and own.status == "in_progress"
    copy = annotation_sets_to_documents([AnnotationSet.objects.select_related("note").get(pk=own.pk)])[own.pk]
    source = annotation_sets_to_documents([world["imported"]])[world["imported"].pk]
    assert annotation_structure(copy) == {**annotation_structure(source), "label": None}  # the verdict is theirs
    assert set(EntityRow.objects.filter(annotation_set=own).values_list("origin", "decision")) == {("import", "")}
    assert snapshot(world["imported"]) == imported_before
    record = AuditEvent.objects.filter(action="annotation_change", object_id=str(own.pk)).get()
    assert record.details["operation"] == "copy_for_correction"
    assert record.details["copied_from"] == {
        "annotation_set": world["imported"].pk, "source_kind": "import", "source_name": "corpus-a",
        "status": "gold", "version": world["imported"].version,
    }
    assert [e["id"] for e in record.details["after"]["events"]] == ["E1"]


def test_correct_these_is_refused_twice_to_outsiders_and_for_sets_that_are_not_imported_or_gold(world):
    own_copy(world)
    with pytest.raises(ApplicationError) as again:
        own_copy(world)
    assert again.value.code == "already_started"
    with pytest.raises(ApplicationError) as outsider:
        editing.annotation_set_copy_for_correction(
            note=world["note"], user=world["users"]["outsider"], source=world["imported"]
        )
    assert outsider.value.code == "forbidden"
    mine = AnnotationSet.objects.get(note=world["note"], source_kind="user")
    with pytest.raises(ApplicationError) as not_copyable:
        editing.annotation_set_copy_for_correction(note=world["note"], user=world["users"]["annotator"], source=mine)
    assert not_copyable.value.code == "not_copyable"


def test_events_are_made_given_arguments_and_deleted_and_undo_restores_each_step_exactly(world):
    own = own_copy(world)
    user = world["users"]["annotator"]
    states = [snapshot(own)]

    def run(edit, **kwargs):
        result = edit(annotation_set=own, expected_version=own.version, user=user, **kwargs)
        own.version = result.version
        states.append(snapshot(own))
        return result

    made = run(editing.event_create, trigger="T3")
    assert made.selected == "E2" and made.events_changed
    run(editing.event_argument_add, event_id="E2", role="Theme", target="T1")
    run(editing.event_argument_add, event_id="E2", role="Cause", target="E1")  # an argument that is an event
    assert list(EventArgument.objects.filter(event__local_id="E2", event__annotation_set=own).values_list(
        "role", "entity__local_id", "target_event__local_id")) == [("Theme", "T1", None), ("Cause", None, "E1")]
    run(editing.event_argument_remove, event_id="E1", position=0)
    run(editing.event_delete, event_id="E1")  # takes R2 and E2's Cause argument with it; its trigger stays
    assert not RelationRow.objects.filter(annotation_set=own, local_id="R2").exists()
    assert EntityRow.objects.filter(annotation_set=own, local_id="T2").exists()
    record = AuditEvent.objects.filter(action="annotation_change").order_by("-id").first()
    assert record.details["operation"] == "event_delete"
    assert [e["id"] for e in record.details["before"]["events"]] == ["E1"]
    assert record.details["after"]["events"] == []

    # Each undo gives back exactly the state before the edit it undoes, every row as it was.
    for expected in reversed(states[:-1]):
        result = editing.edit_undo(annotation_set=own, expected_version=own.version, user=user)
        own.version = result.version
        assert snapshot(own) == expected
    assert not AnnotationEdit.objects.filter(annotation_set=own).exists()


@pytest.mark.parametrize(
    ("role", "target", "why"),
    [("Agent", "T1", "no role Agent"), ("Theme", "T4", "Adverse-Effect"), ("Cause", "T1", "Drug")],
)
def test_an_argument_the_schema_does_not_allow_is_refused_and_nothing_changes(world, role, target, why):
    own = own_copy(world)
    before = snapshot(own)
    with pytest.raises(ApplicationError) as refused:
        editing.event_argument_add(annotation_set=own, expected_version=own.version, event_id="E1", role=role,
                                   target=target, user=world["users"]["annotator"])
    assert refused.value.code == "invalid_annotations" and why in refused.value.message
    assert snapshot(own) == before


def test_an_entity_that_is_not_of_an_event_type_cannot_become_an_event_nor_a_trigger_change_type(world):
    own = own_copy(world)
    user = world["users"]["annotator"]
    with pytest.raises(ApplicationError) as not_event:
        editing.event_create(annotation_set=own, expected_version=own.version, trigger="T1", user=user)
    assert not_event.value.code == "invalid_annotations"
    with pytest.raises(ApplicationError) as trigger:
        editing.entity_update(annotation_set=own, expected_version=own.version, entity_id="T2", type="Drug", user=user)
    assert trigger.value.code == "trigger_type"
    # An entity that is an argument of a relation to an event can still be corrected (the event is context).
    changed = editing.entity_update(annotation_set=own, expected_version=own.version, entity_id="T4",
                                    attributes={"Negation": True}, user=user)
    assert changed.version == own.version + 1
