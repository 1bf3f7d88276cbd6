"""Pages and HTMX fragments that show note text or annotations write exactly one `note_view` audit record
naming the note(s), never the text; refused requests write one `access_denied`. The queue's text search
and patient filter never reach a URL (access logs, history, Referer): they are POSTed and named by a
session token. Malformed editor and queue parameters are 400/404, not 500."""

from __future__ import annotations

import json
import re

import pytest

from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import AnnotationSet, Entity, Relation

from .conftest import TEXT

pytestmark = pytest.mark.django_db


def last_pk() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def one_new_event(before: int) -> AuditEvent:
    [event] = AuditEvent.objects.filter(pk__gt=before)
    stored = json.dumps(event.details)
    for word in ("warfarin", "bleeding", "metformin", "patient-7", TEXT):
        assert word not in stored
    return event


def assert_one_read(before: int, notes, view: str) -> AuditEvent:
    event = one_new_event(before)
    assert (event.action, event.details["view"]) == (AuditAction.NOTE_VIEW, view)
    assert event.details["notes"] == sorted(n.pk for n in notes)
    return event


@pytest.fixture
def model_set(ui):
    aset = AnnotationSet.objects.get(note=ui["note"], source_kind="model")
    t1, t3 = (Entity.objects.get(annotation_set=aset, local_id=i) for i in ("T1", "T3"))
    Relation.objects.create(annotation_set=aset, local_id="R1", type="Adverse-Effect", arg1_entity=t1, arg2_entity=t3)
    return aset


def note_url(ui, suffix=""):
    return f"/projects/ui/notes/{ui['note'].pk}/{suffix}"


@pytest.mark.parametrize(
    "suffix, view",
    [
        ("", "editor"),
        ("entities/T1/", "editor_entity_panel"),
        ("relations/R1/", "editor_relation_panel"),
        ("relation-form/?head=T1&tail=T3&", "editor_relation_form"),
    ],
)
def test_each_editor_page_and_fragment_is_recorded_once(client, ui, model_set, suffix, view):
    client.force_login(ui["users"]["reviewer"])
    before = last_pk()
    sep = "" if suffix.endswith("&") else "?"
    response = client.get(note_url(ui, suffix) + f"{sep}set={model_set.pk}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    event = assert_one_read(before, [ui["note"]], view)
    assert (event.note, event.actor, event.project) == (ui["note"], ui["users"]["reviewer"], ui["project"])
    assert event.details["annotation_set"] == model_set.pk


def test_the_patient_page_is_recorded_with_the_patients_notes(client, ui):
    client.force_login(ui["users"]["reviewer"])
    before = last_pk()
    assert client.get(f"/projects/ui/patients/{ui['patient'].pk}/").status_code == 200
    notes = [ui["note"], *ui["others"][:2]]
    assert assert_one_read(before, notes, "patient").details["patient"] == ui["patient"].pk


def test_a_queue_text_search_is_posted_recorded_once_and_kept_out_of_urls(client, ui):
    client.force_login(ui["users"]["annotator"])
    page = client.get("/projects/ui/queue/").content.decode()
    assert re.search(r'<form id="queue-filters"[^>]*method="post"[^>]*hx-post=', page)
    assert "hx-get" not in re.search(r'<form id="queue-filters"[^>]*>', page).group(0)
    before = last_pk()
    response = client.post("/projects/ui/queue/", {"q": "bleeds", "patient": "patient-7", "status": ""},
                           HTTP_HX_REQUEST="true", HTTP_HX_TARGET="queue-results")
    assert response.status_code == 200
    assert re.findall(r'class="note-link" href="[^"]+">([^<]+)<', response.content.decode()) == ["note-ade"]
    event = assert_one_read(before, [ui["note"]], "queue_search")
    assert event.details["text_search"] and event.details["patient_filter"]
    pushed = response["HX-Push-Url"]
    assert pushed.startswith("/projects/ui/queue/?") and "search=" in pushed
    assert "bleeds" not in pushed and "patient-7" not in pushed
    # The pushed address shows the same search (from the session), again audited once.
    before = last_pk()
    again = client.get(pushed).content.decode()
    assert re.findall(r'class="note-link" href="[^"]+">([^<]+)<', again) == ["note-ade"]
    assert_one_read(before, [ui["note"]], "queue_search")
    for href in re.findall(r'href="([^"]*queue[^"]*)"', again):
        assert "bleeds" not in href and "patient-7" not in href
    # Another user cannot replay the token: it lives in the searcher's session.
    client.force_login(ui["users"]["reviewer"])
    assert "note-0" in client.get(pushed).content.decode()  # no search applied


def test_a_plain_form_post_and_an_old_get_link_are_redirected_to_a_token_address(client, ui):
    client.force_login(ui["users"]["annotator"])
    for response in (client.post("/projects/ui/queue/", {"q": "bleeds", "all": "1"}), client.get("/projects/ui/queue/?q=bleeds&all=1")):
        assert response.status_code == 302
        location = response["Location"]
        assert "bleeds" not in location and "search=" in location and "all=1" in location
        html = client.get(location).content.decode()
        assert re.findall(r'class="note-link" href="[^"]+">([^<]+)<', html) == ["note-ade"]


def test_an_unfiltered_queue_writes_no_record(client, ui):
    client.force_login(ui["users"]["annotator"])
    before = last_pk()
    assert client.get("/projects/ui/queue/?status=unreviewed").status_code == 200
    assert not AuditEvent.objects.filter(pk__gt=before).exists()


def test_nul_bytes_in_queue_filters_are_a_400(client, ui):
    client.force_login(ui["users"]["annotator"])
    assert client.get("/projects/ui/queue/?status=a%00b").status_code == 400
    assert client.get("/projects/ui/queue/?annotator=x%00").status_code == 400
    assert client.post("/projects/ui/queue/", {"q": "rash\x00"}).status_code == 400


@pytest.mark.parametrize("value", ["abc", "1e3", "-1", "99999999999999999999999"])
def test_a_malformed_set_parameter_is_a_404_not_a_500(client, ui, value):
    client.force_login(ui["users"]["reviewer"])
    assert client.get(note_url(ui) + f"?set={value}").status_code == 404


def test_a_note_outside_the_users_projects_is_recorded_as_denied(client, ui):
    client.force_login(ui["users"]["outsider"])
    before = last_pk()
    assert client.get(note_url(ui, "entities/T1/"), HTTP_HX_REQUEST="true").status_code == 404
    event = one_new_event(before)
    assert (event.action, event.actor, event.project, event.note) == (
        AuditAction.ACCESS_DENIED, ui["users"]["outsider"], ui["project"], ui["note"])
    assert event.details["path_ids"] == {"slug": "ui", "note_id": str(ui["note"].pk), "local_id": "T1"}


def test_pages_are_not_stored_by_caches(client, ui):
    client.force_login(ui["users"]["reviewer"])
    assert client.get(note_url(ui))["Cache-Control"] == "no-store"
    assert "no-store" in client.get(f"/projects/ui/patients/{ui['patient'].pk}/")["Cache-Control"]
