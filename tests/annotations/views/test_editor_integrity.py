"""Edits in the note editor never lose or misrecord data (issue 14): undo restores exactly what the
undone edit changed, relations included; the verdict's evidence is an ADE relation; removing an entity
says what else goes and can be undone; a submitted set is read-only until reopened; relation pre-labels
are listed and named."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.errors import ApplicationError
from annotations.models import (
    AnnotationSet,
    Attribute,
    Entity,
    Normalization,
    Note,
    NoteLabel,
    Relation,
    ReviewStatus,
)
from annotations.services import editing

from .conftest import span

pytestmark = pytest.mark.django_db


def _edit(client, ui, action, aset, **data):
    aset.refresh_from_db()
    return client.post(
        f"/projects/ui/notes/{ui['note'].pk}/edit/{action}/", {"set": aset.pk, "version": aset.version, **data},
        HTTP_HX_REQUEST="true",
    )


def _set_with_relation(ui):
    """The annotator's set: T1 warfarin (Drug) -> T3 rash (Adverse-Effect) as R1, both pre-labels accepted."""
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = editing.prelabel_accept(annotation_set=aset, expected_version=aset.version, local_id="T1", user=annotator).version
    v = editing.prelabel_accept(annotation_set=aset, expected_version=v, local_id="T3", user=annotator).version
    v = editing.relation_create(annotation_set=aset, expected_version=v, type="Adverse-Effect", head="T1", tail="T3",
                                user=annotator).version
    return aset, v


def snapshot(aset: AnnotationSet) -> dict:
    """Every row of the set as stored (ids, decisions and times included) and the set's status."""
    rows = {
        model.__name__: sorted(model.objects.filter(annotation_set=aset).values(), key=lambda r: r["id"])
        for model in (Entity, Relation, Attribute, Normalization, NoteLabel)
    }
    rows["status"] = AnnotationSet.objects.get(pk=aset.pk).status
    return rows


# --- undo ------------------------------------------------------------------------------------------------


def test_undoing_an_attribute_keeps_the_relations_of_its_entity(ui):
    annotator = ui["users"]["annotator"]
    aset, v = _set_with_relation(ui)
    v = editing.note_label_set(annotation_set=aset, expected_version=v, value="ade", evidence="R1", user=annotator).version
    before = snapshot(aset)
    v = editing.entity_update(annotation_set=aset, expected_version=v, entity_id="T3", attributes={"Negation": True},
                              user=annotator).version
    undone = editing.edit_undo(annotation_set=aset, expected_version=v, user=annotator)
    assert list(Relation.objects.filter(annotation_set=aset).values_list("local_id", flat=True)) == ["R1"]
    assert NoteLabel.objects.get(annotation_set=aset).evidence.local_id == "R1"
    assert snapshot(aset) == before
    assert "relation" not in undone.changes["before"]  # the undo touched no relation, and says so


def test_the_undo_audit_record_shows_the_relations_it_brings_back(client, ui):
    from annotations.audit.models import AuditEvent

    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = editing.entity_create(annotation_set=aset, expected_version=aset.version, type="Adverse-Effect",
                              spans=[span("bleeding")], user=annotator).version
    v = editing.relation_create(annotation_set=aset, expected_version=v, type="Adverse-Effect", head="T1", tail="T4",
                                user=annotator).version
    client.force_login(annotator)
    assert _edit(client, ui, "entity-delete", aset, entity="T4").status_code == 200
    assert not Relation.objects.filter(annotation_set=aset).exists()
    assert _edit(client, ui, "undo", aset).status_code == 200
    assert list(Relation.objects.filter(annotation_set=aset).values_list("local_id", flat=True)) == ["R1"]
    record = AuditEvent.objects.filter(action="annotation_change").order_by("-id").first()
    assert record.details["operation"] == "undo"
    assert [r["id"] for r in record.details["after"]["relations"]] == ["R1"]
    assert record.details["before"]["relations"] == []


def test_undoing_a_delete_brings_back_everything_the_delete_took_with_it(ui):
    from annotations.models import AnnotatorNote, Equivalence, EquivalenceMember, Event, EventArgument

    annotator = ui["users"]["annotator"]
    aset, v = _set_with_relation(ui)
    v = editing.entity_create(annotation_set=aset, expected_version=v, type="Adverse-Effect",
                              spans=[span("bleeding")], user=annotator).version
    v = editing.relation_create(annotation_set=aset, expected_version=v, type="Adverse-Effect", head="T1", tail="T4",
                                user=annotator).version
    t1, t4 = (Entity.objects.get(annotation_set=aset, local_id=x) for x in ("T1", "T4"))
    r2 = Relation.objects.get(annotation_set=aset, local_id="R2")
    # What an imported copy can carry and the editor does not edit: events, notes, equivalences.
    event = Event.objects.create(annotation_set=aset, local_id="E1", type="Bleeding", trigger=t4)
    EventArgument.objects.create(event=event, role="Cause", position=0, entity=t1)
    AnnotatorNote.objects.create(annotation_set=aset, local_id="#1", entity=t4, text="check the endoscopy")
    AnnotatorNote.objects.create(annotation_set=aset, local_id="#2", relation=r2, text="timing fits")
    equivalence = Equivalence.objects.create(annotation_set=aset)
    EquivalenceMember.objects.create(equivalence=equivalence, entity=t4, position=0)
    v = editing.entity_update(annotation_set=aset, expected_version=v, entity_id="T4",
                              normalization=("MedDRA", "10019211", "Haemorrhage"), user=annotator).version

    def everything():
        return {
            model.__name__: sorted(map(str, model.objects.filter(**{lookup: aset}).values()))
            for model, lookup in ((Entity, "annotation_set"), (Relation, "annotation_set"),
                                  (Normalization, "annotation_set"), (AnnotatorNote, "annotation_set"),
                                  (Event, "annotation_set"), (EventArgument, "event__annotation_set"),
                                  (EquivalenceMember, "equivalence__annotation_set"), (NoteLabel, "annotation_set"))
        }

    before = everything()
    v = editing.entity_delete(annotation_set=aset, expected_version=v, entity_id="T4", user=annotator).version
    assert not Event.objects.filter(annotation_set=aset).exists()
    editing.edit_undo(annotation_set=aset, expected_version=v, user=annotator)
    assert everything() == before


# Edits the property test draws from: (operation, a number that picks its target).
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from([
            "create", "fragment", "retype", "negate", "certainty", "normalize", "unnormalize", "delete",
            "relate", "unrelate", "accept", "reject", "accept_type", "reject_type", "verdict",
        ]),
        st.integers(min_value=0, max_value=50),
    ),
    min_size=1,
    max_size=12,
)
WORDS = ["warfarin", "5", "mg", "daily", "admission", "gastric", "duodenal", "bleeding", "rash", "clinic", "Plan"]


def _apply(aset, user, v: int, op: str, n: int) -> int:
    """Run one edit; returns the new version (the same one when the edit was refused)."""
    live = list(Entity.objects.filter(annotation_set=aset).exclude(decision="rejected").order_by("pk"))
    relations = list(Relation.objects.filter(annotation_set=aset).exclude(decision="rejected").order_by("pk"))
    pending = [e for e in live if e.origin == "model" and not e.decision]
    common = {"annotation_set": aset, "expected_version": v, "user": user}

    def pick(items):
        return items[n % len(items)]

    try:
        if op == "create":
            word = WORDS[n % len(WORDS)]
            return editing.entity_create(**common, type=["Drug", "Adverse-Effect", "Dose"][n % 3],
                                         spans=[span(word)]).version
        if not live and op not in ("verdict", "unrelate"):
            return v
        if op == "fragment":
            return editing.entity_add_fragment(**common, entity_id=pick(live).local_id,
                                               span=span(WORDS[(n // 3) % len(WORDS)])).version
        if op == "retype":
            return editing.entity_update(**common, entity_id=pick(live).local_id,
                                         type=["Drug", "Adverse-Effect", "Dose"][n % 3]).version
        if op == "negate":
            target = pick(live)
            has = Attribute.objects.filter(entity=target, name="Negation").exists()
            return editing.entity_update(**common, entity_id=target.local_id, attributes={"Negation": not has}).version
        if op == "certainty":
            return editing.entity_update(**common, entity_id=pick(live).local_id,
                                         attributes={"Certainty": ["certain", "possible", None][n % 3]}).version
        if op == "normalize":
            return editing.entity_update(**common, entity_id=pick(live).local_id,
                                         normalization=("MedDRA", str(10000 + n), f"term {n}")).version
        if op == "unnormalize":
            return editing.entity_update(**common, entity_id=pick(live).local_id, normalization=("", "", "")).version
        if op == "delete":
            return editing.entity_delete(**common, entity_id=pick(live).local_id).version
        if op == "relate":
            drugs = [e for e in live if e.type == "Drug"]
            effects = [e for e in live if e.type == "Adverse-Effect"]
            if not drugs or not effects:
                return v
            return editing.relation_create(**common, type="Adverse-Effect", head=pick(drugs).local_id,
                                           tail=pick(effects).local_id).version
        if op == "unrelate":
            if not relations:
                return v
            return editing.relation_delete(**common, relation_id=pick(relations).local_id).version
        if op in ("accept", "reject"):
            if not pending:
                return v
            service = editing.prelabel_accept if op == "accept" else editing.prelabel_reject
            return service(**common, local_id=pick(pending).local_id).version
        if op in ("accept_type", "reject_type"):
            return editing.prelabels_decide_type(**common, type=["Drug", "Adverse-Effect"][n % 2],
                                                 decision="accepted" if op == "accept_type" else "rejected").version
        if op == "verdict":
            evidence = [r for r in relations if r.type == "Adverse-Effect"]
            return editing.note_label_set(**common, value=["ade", "no_ade", "uncertain"][n % 3],
                                          evidence=pick(evidence).local_id if evidence and n % 2 else None).version
    except ApplicationError:  # refused by the schema or the rules: nothing changed, no undo step
        return v
    raise AssertionError(op)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_any_edits_then_as_many_undos_give_back_the_original_set(ui, operations):
    from django.db import transaction

    annotator = ui["users"]["annotator"]
    with transaction.atomic():  # each example starts from the same set: roll it back afterwards
        aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
        aset.refresh_from_db()
        v, states = aset.version, []  # the set before each edit that happened
        for op, n in operations:
            state = snapshot(aset)
            new = _apply(aset, annotator, v, op, n)
            if new != v:
                states.append(state)
            v = new
        # Each undo gives back exactly the set before the edit it undoes, the last one the original.
        while states:
            v = editing.edit_undo(annotation_set=aset, expected_version=v, user=annotator).version
            assert snapshot(aset) == states.pop()
        transaction.set_rollback(True)


# --- evidence, and removing what carries relations -----------------------------------------------------------


def test_only_an_ade_relation_can_be_the_verdicts_evidence(client, ui):
    annotator = ui["users"]["annotator"]
    aset, v = _set_with_relation(ui)
    v = editing.entity_create(annotation_set=aset, expected_version=v, type="Dose", spans=[span("5")],
                              user=annotator).version
    v = editing.relation_create(annotation_set=aset, expected_version=v, type="Dose", head="T4", tail="T1",
                                user=annotator).version  # R2, the newest relation
    with pytest.raises(ApplicationError) as refused:
        editing.note_label_set(annotation_set=aset, expected_version=v, value="ade", evidence="R2", user=annotator)
    assert refused.value.code == "not_evidence"
    client.force_login(annotator)
    html = client.get(f"/projects/ui/notes/{ui['note'].pk}/").content.decode()
    options = re.search(r'<select name="evidence" id="evidence-select">(.*?)</select>', html, re.S).group(1)
    assert 'value="R1" selected' in options and 'value="R2"' not in options


def test_rejecting_a_prelabel_says_it_removes_its_relations_and_undo_brings_them_back(client, ui):
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = editing.relation_create(annotation_set=aset, expected_version=aset.version, type="Adverse-Effect", head="T1",
                                tail="T3", user=annotator).version
    editing.note_label_set(annotation_set=aset, expected_version=v, value="ade", evidence="R1", user=annotator)
    client.force_login(annotator)
    panel = client.get(f"/projects/ui/notes/{ui['note'].pk}/entities/T1/", HTTP_HX_REQUEST="true").content.decode()
    assert "also removes 1 relation" in panel
    assert _edit(client, ui, "prelabel-reject", aset, id="T1").status_code == 200
    assert Relation.objects.get(annotation_set=aset).decision == "rejected"
    assert _edit(client, ui, "undo", aset).status_code == 200
    relation = Relation.objects.get(annotation_set=aset)
    assert (relation.local_id, relation.decision) == ("R1", "added")
    assert NoteLabel.objects.get(annotation_set=aset).evidence_id == relation.pk


# --- submitted sets -----------------------------------------------------------------------------------------------


def _submitted(ui):
    annotator = ui["users"]["annotator"]
    aset, v = _set_with_relation(ui)
    v = editing.prelabel_reject(annotation_set=aset, expected_version=v, local_id="T2", user=annotator).version
    v = editing.note_label_set(annotation_set=aset, expected_version=v, value="ade", evidence="R1", user=annotator).version
    return aset, editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=annotator).version


def test_a_submitted_set_refuses_edits_until_it_is_reopened(ui):
    annotator = ui["users"]["annotator"]
    aset, v = _submitted(ui)
    for attempt in (
        lambda: editing.entity_update(annotation_set=aset, expected_version=v, entity_id="T3",
                                      attributes={"Negation": True}, user=annotator),
        lambda: editing.edit_undo(annotation_set=aset, expected_version=v, user=annotator),
    ):
        with pytest.raises(ApplicationError) as refused:
            attempt()
        assert refused.value.code == "submitted" and "reopen" in refused.value.message.lower()
    assert AnnotationSet.objects.get(pk=aset.pk).status == "submitted"
    assert Note.objects.get(pk=ui["note"].pk).review_status == ReviewStatus.SUBMITTED

    reopened = editing.annotation_set_reopen(annotation_set=aset, expected_version=v, user=annotator)
    assert reopened.annotation_set.status == "in_progress"
    assert Note.objects.get(pk=ui["note"].pk).review_status == ReviewStatus.IN_PROGRESS
    # Undo after reopening undoes the last change of content (the verdict), not the submit.
    undone = editing.edit_undo(annotation_set=aset, expected_version=reopened.version, user=annotator)
    assert not NoteLabel.objects.filter(annotation_set=aset).exists()
    assert undone.annotation_set.status == "in_progress"


def test_the_editor_shows_a_submitted_set_read_only_with_a_reopen_button(client, ui):
    from annotations.audit.models import AuditEvent

    aset, _ = _submitted(ui)
    client.force_login(ui["users"]["annotator"])
    html = client.get(f"/projects/ui/notes/{ui['note'].pk}/").content.decode()
    assert "Submitted — reopen to edit" in html and 'id="reopen-btn"' in html
    assert 'id="undo-btn"' not in html and 'id="create-form"' not in html
    refused = _edit(client, ui, "entity-delete", aset, entity="T3")
    assert refused.status_code == 409 and "reopen" in refused.content.decode().lower()
    reopened = _edit(client, ui, "reopen", aset)
    assert reopened.status_code == 200 and reopened.headers.get("HX-Refresh") == "true"
    assert AnnotationSet.objects.get(pk=aset.pk).status == "in_progress"
    assert AuditEvent.objects.filter(action="annotation_change").order_by("-id").first().details["operation"] == "reopen"


# --- relation pre-labels ---------------------------------------------------------------------------------------


def _relation_prelabel(ui):
    """The annotator's set with a model pre-label relation R1 (T1 warfarin -> T3 rash), entities accepted."""
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    Relation.objects.create(
        annotation_set=aset, local_id="R1", type="Adverse-Effect", origin="model", confidence=0.62,
        arg1_entity=Entity.objects.get(annotation_set=aset, local_id="T1"),
        arg2_entity=Entity.objects.get(annotation_set=aset, local_id="T3"),
    )
    v = editing.prelabels_accept_type(annotation_set=aset, expected_version=aset.version, type="Drug",
                                      user=annotator).version
    v = editing.prelabel_accept(annotation_set=aset, expected_version=v, local_id="T3", user=annotator).version
    return aset, editing.note_label_set(annotation_set=aset, expected_version=v, value="uncertain", evidence=None,
                                        user=annotator).version


def test_the_submit_refusal_names_the_pending_relation_prelabels_the_panel_lists(client, ui):
    aset, v = _relation_prelabel(ui)
    with pytest.raises(ApplicationError) as refused:
        editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=ui["users"]["annotator"])
    assert refused.value.code == "pending_prelabels"
    assert "R1 Adverse-Effect" in refused.value.message
    client.force_login(ui["users"]["annotator"])
    html = client.get(f"/projects/ui/notes/{ui['note'].pk}/").content.decode()
    panel = re.search(r'<section id="prelabels".*?</section>', html, re.S).group(0)
    assert 'data-prelabel="R1"' in panel and "Adverse-Effect" in panel
