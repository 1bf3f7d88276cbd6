"""View and service tests of the review UI on the real database: roles, queue, editing, conflicts, sign-off."""

from __future__ import annotations

import re

import pytest

from annotations.errors import ApplicationError, ConflictError
from annotations.models import AnnotationSet, Entity, Note, Relation, ReviewStatus, SignOff
from annotations.services import editing, review
from annotations.services.document_store import annotation_sets_to_documents

from .conftest import TEXT, span

pytestmark = pytest.mark.django_db


def spans(word, nth=0):
    s, e = span(word, nth)
    return f"{s}-{e}"


def note_url(ui, suffix=""):
    return f"/projects/ui/notes/{ui['note'].pk}/{suffix}"


def open_editor(client, ui, user="annotator"):
    """The editor page on the user's own set. A GET creates no set (issue 13), so the set is made first
    through the API's door ("my set"), as a first edit would."""
    client.force_login(ui["users"][user])
    editing.annotation_set_for_editor(note=ui["note"], user=ui["users"][user])
    page = client.get(note_url(ui))
    assert page.status_code == 200
    html = page.content.decode()
    version = int(re.search(r'id="version" name="version" value="(\d+)"', html).group(1))
    set_id = int(re.search(r'id="set-id" name="set" value="(\d+)"', html).group(1))
    return html, version, set_id


def edit(client, ui, action, set_id, version, **data):
    return client.post(note_url(ui, f"edit/{action}/"), {"set": set_id, "version": version, **data}, HTTP_HX_REQUEST="true")


# --- who may see what ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/projects/ui/", "/projects/ui/queue/", "NOTE", "PATIENT"])
def test_non_members_get_404_and_anonymous_users_the_login_page(client, ui, path):
    path = note_url(ui) if path == "NOTE" else f"/projects/ui/patients/{ui['patient'].pk}/" if path == "PATIENT" else path
    assert client.get(path).status_code == 302
    client.force_login(ui["users"]["outsider"])
    assert client.get(path).status_code == 404


def test_an_annotator_may_not_sign_off(client, ui):
    client.force_login(ui["users"]["annotator"])
    response = client.post(note_url(ui, "sign-off/"), {"decision": "confirm"})
    assert response.status_code == 403
    assert not SignOff.objects.exists()


def test_nobody_edits_someone_elses_set(client, ui):
    _, version, set_id = open_editor(client, ui, "annotator")
    client.force_login(ui["users"]["annotator2"])
    response = edit(client, ui, "entity-create", set_id, version, type="Drug", spans=spans("warfarin", 1))
    assert response.status_code == 403
    assert "read-only" in response.content.decode()


# --- dashboard and queue ------------------------------------------------------------------------------


def test_dashboard_counts_notes_by_status_in_a_fixed_number_of_queries(client, ui, django_assert_num_queries):
    client.force_login(ui["users"]["reviewer"])
    with django_assert_num_queries(8):  # session, user, membership, by-status, flagged, gold, model, jobs
        response = client.get("/projects/ui/")
    html = response.content.decode()
    assert 'id="flagged-count">5<' in html
    assert "ner-v1" in html and "ner_f1" in html
    assert "/projects/ui/jobs/" in html  # the inference app's job list


def test_queue_ranks_flagged_notes_by_probability_in_a_fixed_number_of_queries(client, ui, django_assert_num_queries):
    client.force_login(ui["users"]["reviewer"])
    # session, user, membership, one page of notes, schema, the newest model sets and their ADE relations
    # (why flagged)
    with django_assert_num_queries(7):
        response = client.get("/projects/ui/queue/")
    html = response.content.decode()
    order = re.findall(r'class="note-link" href="[^"]+">([^<]+)<', html)
    assert order == ["note-ade", "note-3", "note-2", "note-1", "note-0"]
    with django_assert_num_queries(7):  # the HTMX fragment skips the filter menus but not the schema
        fragment = client.get("/projects/ui/queue/?status=unreviewed", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results")
    assert fragment.content.decode().lstrip().startswith('<section id="queue-results">')


def test_the_queue_says_why_a_note_is_flagged_and_audits_the_sentences_it_shows(client, ui):
    import dataclasses

    from annotations.audit.models import AuditAction, AuditEvent
    from annotations.formats.document import Relation as RelationRecord
    from annotations.models import AnnotationSet
    from annotations.services.annotation_sets import annotation_set_replace
    from annotations.services.document_store import annotation_sets_to_documents

    model_set = AnnotationSet.objects.get(note=ui["note"], source_kind="model")
    doc = annotation_sets_to_documents([model_set])[model_set.pk]
    drug = next(e for e in doc.entities if e.type == "Drug")
    effect = next(e for e in doc.entities if e.type == "Adverse-Effect")
    doc = dataclasses.replace(doc, relations=(RelationRecord("R1", "Adverse-Effect", drug.id, effect.id,
                                                              confidence=0.87),))
    annotation_set_replace(annotation_set=model_set, document=doc, schema=None, expected_version=None, origin="model")
    client.force_login(ui["users"]["reviewer"])
    html = client.get("/projects/ui/queue/").content.decode()
    row = html[html.index('>note-ade<'):]
    row = row[:row.index("</tr>")]
    assert f"<b>{drug.text}</b> → <b>{effect.text}</b>" in row and "0.87" in row
    assert "note classifier only" in html  # the other flagged notes have no ADE relation
    [read] = AuditEvent.objects.filter(action=AuditAction.NOTE_VIEW, details__view="queue")
    assert ui["note"].pk in read.details["notes"]


def test_queue_pages_by_keyset(client, ui):
    from annotations import selectors

    first = selectors.note_queue(project=ui["project"], filters=selectors.QueueFilters(flagged_only=False), limit=3)
    assert [n.external_id for n in first.notes] == ["note-ade", "note-5", "note-4"]
    second = selectors.note_queue(
        project=ui["project"], filters=selectors.QueueFilters(flagged_only=False), cursor=first.next_cursor, limit=3
    )
    assert [n.external_id for n in second.notes] == ["note-3", "note-2", "note-1"]
    client.force_login(ui["users"]["annotator"])
    html = client.get(f"/projects/ui/queue/?all=1&after={first.next_cursor}").content.decode()
    assert "note-3" in html and "note-ade" not in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("q=bleeds", ["note-ade"]),  # full-text search stems: bleeds ~ bleeding
        ("q=metformin&all=1", ["note-5", "note-4", "note-3", "note-2", "note-1", "note-0"]),
        ("entity_type=Drug", ["note-ade"]),
        ("patient=patient-7", ["note-ade", "note-1", "note-0"]),
        ("date_from=2026-03-03&date_to=2026-03-04&all=1", ["note-ade", "note-3", "note-2"]),
        ("status=signed_off", []),
    ],
)
def test_queue_filters(client, ui, query, expected):
    client.force_login(ui["users"]["annotator"])
    html = client.get(f"/projects/ui/queue/?{query}", follow=True).content.decode()  # q, patient: via a search token
    assert re.findall(r'class="note-link" href="[^"]+">([^<]+)<', html) == expected


def test_patient_page_lists_notes_in_time_order(client, ui, django_assert_num_queries):
    client.force_login(ui["users"]["reviewer"])
    with django_assert_num_queries(6):  # session, user, membership, patient, notes, the audit record
        html = client.get(f"/projects/ui/patients/{ui['patient'].pk}/").content.decode()
    assert [m for m in re.findall(r">(note-[^<]+)</a>", html)] == ["note-0", "note-1", "note-ade"]


# --- the editor ---------------------------------------------------------------------------------------


def test_opening_the_editor_creates_no_set_and_the_first_edit_copies_the_model_set(client, ui):
    """A GET writes nothing but its audit record (issue 13): the page shows the model's pre-labels at
    version 0, and the first edit creates the user's set from them and applies itself."""
    from annotations.audit.models import AuditEvent

    client.force_login(ui["users"]["annotator"])
    sets_before = AnnotationSet.objects.count()
    html = client.get(note_url(ui)).content.decode()
    assert AnnotationSet.objects.count() == sets_before
    assert not AnnotationSet.objects.filter(note=ui["note"], user=ui["users"]["annotator"]).exists()
    assert 'id="set-id" name="set" value=""' in html and 'id="version" name="version" value="0"' in html
    assert len(re.findall(r'class="e (?:d\d )?pre b c\d"', html)) == 3 and "Drug 0.93" in html
    assert AuditEvent.objects.filter(note=ui["note"], actor=ui["users"]["annotator"]).exists()
    assert client.get(note_url(ui, "entities/T1/"), HTTP_HX_REQUEST="true").status_code == 200  # the panel too
    assert AnnotationSet.objects.count() == sets_before

    first = edit(client, ui, "prelabel-accept", "", 0, id="T1")
    assert first.status_code == 200
    aset = AnnotationSet.objects.get(note=ui["note"], user=ui["users"]["annotator"])
    assert (aset.source_kind, aset.status, aset.version) == ("user", "in_progress", 2)
    rows = list(Entity.objects.filter(annotation_set=aset).order_by("local_id").values_list("origin", "decision", "confidence"))
    assert rows == [("model", "accepted", 0.93), ("model", "", 0.41), ("model", "", 0.55)]
    # A second page still at version 0 (another tab) is stale now, and a refused first edit leaves no set.
    assert edit(client, ui, "prelabel-accept", "", 0, id="T2").status_code == 409
    client.force_login(ui["users"]["annotator2"])
    assert edit(client, ui, "entity-create", "", 0, type="Nonsense", spans=spans("bleeding")).status_code == 400
    assert not AnnotationSet.objects.filter(note=ui["note"], user=ui["users"]["annotator2"]).exists()
    assert edit(client, ui, "entity-create", "", 1, type="Drug", spans=spans("bleeding")).status_code == 409


def test_an_edit_returns_only_the_changed_fragments_and_bumps_the_version(client, ui):
    _, version, set_id = open_editor(client, ui)
    s, e = span("bleeding")
    response = edit(client, ui, "entity-create", set_id, version, type="Adverse-Effect", spans=f"{s}-{e}")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{version + 1}" hx-swap-oob="true"' in html
    assert len(re.findall(r'class="seg( blk)?"', html)) == 1  # one text segment re-rendered, not the note
    assert 'data-entity="T4"' in html
    created = Entity.objects.get(annotation_set_id=set_id, local_id="T4")
    assert (created.text, created.origin, created.decision) == ("bleeding", "human", "added")


def test_an_editor_edit_is_audited_with_what_it_touched_before_and_after_and_no_text(client, ui):
    from annotations.audit.models import AuditAction, AuditEvent

    _, version, set_id = open_editor(client, ui)
    s, e = span("bleeding")
    edit(client, ui, "entity-create", set_id, version, type="Adverse-Effect", spans=f"{s}-{e}")
    edit(client, ui, "entity-delete", set_id, version + 1, entity="T4")
    create, delete = AuditEvent.objects.filter(action=AuditAction.ANNOTATION_CHANGE).order_by("pk")
    assert create.details["before"]["entities"] == [] and create.details["operation"] == "entity_create"
    assert create.details["after"]["entities"] == [
        {"id": "T4", "type": "Adverse-Effect", "fragments": [[s, e]], "decision": "added"}]
    assert [x["id"] for x in delete.details["before"]["entities"]] == ["T4"] and delete.details["after"]["entities"] == []
    assert "bleeding" not in str(create.details) + str(delete.details)


def test_a_stale_version_is_refused_with_a_conflict_and_nothing_is_lost(client, ui):
    _, version, set_id = open_editor(client, ui)
    first = edit(client, ui, "entity-create", set_id, version, type="Adverse-Effect", spans=spans("bleeding"))
    assert first.status_code == 200
    second = edit(client, ui, "entity-create", set_id, version, type="Drug", spans=spans("warfarin", 1))
    assert second.status_code == 409
    assert second["HX-Retarget"] == "#flash"
    assert "Someone else changed these annotations" in second.content.decode()
    texts = set(Entity.objects.filter(annotation_set_id=set_id).values_list("text", flat=True))
    assert "bleeding" in texts and Entity.objects.filter(annotation_set_id=set_id).count() == 4


def test_the_schema_decides_which_relations_exist(client, ui):
    _, version, set_id = open_editor(client, ui)
    edit(client, ui, "entity-create", set_id, version, type="Adverse-Effect", spans=spans("bleeding"))
    form = client.get(note_url(ui, "relation-form/") + f"?set={set_id}&head=T4&tail=T1").content.decode()
    assert re.findall(r'name="type" value="([^"]+)"', form) == ["Adverse-Effect"]  # Drug -> AE only, reversed
    refused = edit(client, ui, "relation-create", set_id, version + 1, type="Dose", head="T1", tail="T4")
    assert refused.status_code == 400 and "Dose" in refused.content.decode()
    made = edit(client, ui, "relation-create", set_id, version + 1, type="Adverse-Effect", head="T1", tail="T4")
    assert made.status_code == 200 and 'id="rel-R1"' in made.content.decode()


def test_prelabels_accept_reject_undo_and_export(ui):
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = aset.version
    v = editing.prelabel_accept(annotation_set=aset, expected_version=v, local_id="T1", user=annotator).version
    v = editing.prelabel_reject(annotation_set=aset, expected_version=v, local_id="T2", user=annotator).version
    v = editing.entity_update(
        annotation_set=aset, expected_version=v, entity_id="T3", attributes={"Negation": True}, user=annotator
    ).version
    with pytest.raises(ConflictError):
        editing.entity_delete(annotation_set=aset, expected_version=v - 1, entity_id="T1", user=annotator)
    doc = annotation_sets_to_documents([AnnotationSet.objects.select_related("note").get(pk=aset.pk)])[aset.pk]
    assert [(e.id, e.type) for e in doc.entities] == [("T1", "Drug"), ("T3", "Adverse-Effect")]  # T2 rejected
    assert [(a.name, a.target) for a in doc.attributes] == [("Negation", "T3")]
    # Undo the negation, then the rejection.
    v = editing.edit_undo(annotation_set=aset, expected_version=v, user=annotator).version
    v = editing.edit_undo(annotation_set=aset, expected_version=v, user=annotator).version
    doc = annotation_sets_to_documents([AnnotationSet.objects.select_related("note").get(pk=aset.pk)])[aset.pk]
    assert [e.id for e in doc.entities] == ["T1", "T2", "T3"] and doc.attributes == ()
    assert Entity.objects.get(annotation_set=aset, local_id="T2").decision == ""
    v = editing.prelabels_accept_type(annotation_set=aset, expected_version=v, type="Drug", user=annotator).version
    assert set(Entity.objects.filter(annotation_set=aset, type="Drug").values_list("decision", flat=True)) == {"accepted"}
    # A replace from elsewhere (an import, the API) breaks the undo chain rather than mixing states.
    from annotations.services.annotation_sets import annotation_set_replace

    doc = annotation_sets_to_documents([AnnotationSet.objects.select_related("note").get(pk=aset.pk)])[aset.pk]
    replaced = annotation_set_replace(annotation_set=aset, document=doc, schema=None, expected_version=v, origin="human")
    with pytest.raises(ApplicationError) as unavailable:
        editing.edit_undo(annotation_set=aset, expected_version=replaced.version, user=annotator)
    assert unavailable.value.code == "undo_unavailable"


def test_submit_needs_decided_prelabels_and_a_verdict_then_sign_off_makes_it_read_only(client, ui):
    annotator, reviewer = ui["users"]["annotator"], ui["users"]["reviewer"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = aset.version
    with pytest.raises(ApplicationError) as pending:
        editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=annotator)
    assert pending.value.code == "pending_prelabels"
    v = editing.prelabels_decide_type(annotation_set=aset, expected_version=v, type="Drug", decision="rejected",
                                      user=annotator).version
    v = editing.prelabel_accept(annotation_set=aset, expected_version=v, local_id="T3", user=annotator).version
    with pytest.raises(ApplicationError) as no_verdict:
        editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=annotator)
    assert no_verdict.value.code == "no_verdict"
    v = editing.note_label_set(annotation_set=aset, expected_version=v, value="no_ade", evidence=None, user=annotator).version
    v = editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=annotator).version
    assert Note.objects.get(pk=ui["note"].pk).review_status == ReviewStatus.SUBMITTED

    client.force_login(reviewer)
    seen = {"annotation_set": aset.pk, "version": v}
    assert client.post(note_url(ui, "sign-off/"), {"decision": "overturn", **seen}).status_code == 302
    assert not SignOff.objects.exists()  # overturning needs a comment
    client.post(note_url(ui, "sign-off/"), {"decision": "overturn", "comment": "rash is negated", **seen})
    sign_off = SignOff.objects.get()
    assert (sign_off.decision, sign_off.annotation_set_id, sign_off.user) == ("overturn", aset.pk, reviewer)
    assert (sign_off.final_verdict, sign_off.outcome, sign_off.annotation_set_version) == ("no_ade", "gold", v)
    with pytest.raises(ApplicationError) as again:
        review.note_sign_off(note=ui["note"], user=reviewer, decision="confirm", annotation_set_id=aset.pk, version=v)
    assert again.value.code == "already_signed_off"

    # Read-only for the annotator, still editable by an admin.
    client.force_login(annotator)
    html = client.get(note_url(ui)).content.decode()
    assert 'id="readonly"' in html and 'id="create-form"' not in html
    refused = edit(client, ui, "entity-create", aset.pk, v, type="Drug", spans=spans("warfarin", 1))
    assert refused.status_code == 403
    admin = ui["users"]["admin"]
    admin_edit = editing.entity_create(
        annotation_set=aset, expected_version=v, type="Drug", spans=[span("warfarin", 1)], user=admin
    )
    assert admin_edit.version == v + 1


def test_rejecting_an_entity_rejects_its_relations_and_clears_the_evidence(ui):
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = editing.relation_create(annotation_set=aset, expected_version=aset.version, type="Adverse-Effect", head="T1",
                                tail="T3", user=annotator).version
    v = editing.note_label_set(annotation_set=aset, expected_version=v, value="ade", evidence="R1", user=annotator).version
    editing.prelabel_reject(annotation_set=aset, expected_version=v, local_id="T1", user=annotator)
    assert Relation.objects.get(annotation_set=aset).decision == "rejected"
    assert aset.label.__class__.objects.get(annotation_set=aset).evidence is None
    assert TEXT  # the fixture text is what the offsets point into


def test_type_valued_attribute_and_normalization_of_an_entity(client, ui):
    _, version, set_id = open_editor(client, ui)
    made = edit(client, ui, "entity-create", set_id, version, type="Drug", spans=spans("bleeding"))
    assert made.status_code == 200
    retyped = edit(client, ui, "entity-update", set_id, version + 1, entity="T4", type="Adverse-Effect")
    assert retyped.status_code == 200 and "Certainty" in retyped.content.decode()  # AE offers Certainty
    certain = edit(client, ui, "entity-update", set_id, version + 2, entity="T4", attr="Certainty", value="possible")
    assert certain.status_code == 200
    bad = edit(client, ui, "entity-update", set_id, version + 3, entity="T4", attr="Certainty", value="surely")
    assert bad.status_code == 400 and "Certainty" in bad.content.decode()
    normalized = edit(client, ui, "entity-update", set_id, version + 3, entity="T4", norm="MedDRA:10019211",
                      norm_text="Haemorrhage")
    assert normalized.status_code == 200 and 'value="MedDRA:10019211"' in normalized.content.decode()
    doc = annotation_sets_to_documents([AnnotationSet.objects.select_related("note").get(pk=set_id)])[set_id]
    t4 = next(e for e in doc.entities if e.id == "T4")
    assert t4.type == "Adverse-Effect"
    assert [(a.name, a.value) for a in doc.attributes if a.target == "T4"] == [("Certainty", "possible")]
    assert [(n.resource, n.resource_id, n.text) for n in doc.normalizations] == [("MedDRA", "10019211", "Haemorrhage")]
    # Undo over HTTP takes the normalization back; the relation panel shows a relation's actions.
    undone = edit(client, ui, "undo", set_id, version + 4)
    assert undone.status_code == 200 and "Undone" in undone.content.decode()
    doc = annotation_sets_to_documents([AnnotationSet.objects.select_related("note").get(pk=set_id)])[set_id]
    assert doc.normalizations == ()
    edit(client, ui, "relation-create", set_id, version + 5, type="Adverse-Effect", head="T1", tail="T4")
    panel = client.get(note_url(ui, "relations/R1/") + f"?set={set_id}", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="delete-btn"' in panel and "R1 · Adverse effect" in panel  # the display name, as everywhere


def test_queue_pager_links_have_hrefs_as_well_as_hx_get(client, ui, monkeypatch):
    from annotations import selectors

    monkeypatch.setattr(selectors, "QUEUE_PAGE", 2)
    client.force_login(ui["users"]["annotator"])
    html = client.get("/projects/ui/queue/?all=1").content.decode()
    links = re.findall(r"<a [^>]*hx-get[^>]*>", html)
    assert links and all('href="' in tag for tag in links)
    next_href = re.search(r'id="next-page" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    second = client.get(f"/projects/ui/queue/{next_href}").content.decode()
    assert re.findall(r'class="note-link" href="[^"]+">([^<]+)<', second) == ["note-4", "note-3"]
    assert "First page" in second


# --- adding a note by hand --------------------------------------------------------------------------------


def test_an_admin_adds_a_note_by_hand_and_it_is_audited_without_its_text(client, ui):
    from annotations.audit.models import AuditEvent

    client.force_login(ui["users"]["admin"])
    assert 'id="add-note"' in client.get("/projects/ui/").content.decode()
    text = "Pt started on amoxicillin.\nRash on day 3 →  stopped.\n"
    response = client.post(
        "/projects/ui/notes/new/", {"external_id": "ward-note-1", "text": text, "patient": "p-77", "unit": "ICU"}
    )
    note = Note.objects.get(project=ui["project"], external_id="ward-note-1")
    assert response.status_code == 302 and response.url == f"/projects/ui/notes/{note.pk}/"
    assert note.text == text  # exactly as typed: trailing newline and double space kept
    assert note.patient.external_id == "p-77" and note.unit == "ICU"
    event = AuditEvent.objects.get(action="note_create", object_id=str(note.pk))
    assert "amoxicillin" not in str(event.details)


def test_a_duplicate_note_id_is_refused_with_the_reason_and_annotators_may_not_add_notes(client, ui):
    client.force_login(ui["users"]["admin"])
    taken = ui["note"].external_id
    response = client.post("/projects/ui/notes/new/", {"external_id": taken, "text": "Another text."})
    assert response.status_code == 400 and "already has a note" in response.content.decode()
    assert Note.objects.filter(project=ui["project"], external_id=taken).count() == 1
    client.force_login(ui["users"]["annotator"])
    assert 'id="add-note"' not in client.get("/projects/ui/").content.decode()
    assert client.get("/projects/ui/notes/new/").status_code == 403
    assert client.post("/projects/ui/notes/new/", {"external_id": "x", "text": "y"}).status_code == 403
    assert not Note.objects.filter(external_id="x").exists()
