"""The case pages: who sees them, "Open case" on a confirmed note, the case page's sections and forms, the live
Naranjo score, the line listing with its filters (clinical words never in the address) and its CSV / XLSX
downloads (formula-safe), and the PHI-read audit of every response that shows a case."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from annotations.audit.models import AuditEvent
from pharmacovigilance import services
from pharmacovigilance.core.line_listing import COLUMNS
from pharmacovigilance.models import Case

from .world import PASSWORD

pytestmark = pytest.mark.django_db


def client(pv, who: str) -> Client:
    c = Client()
    c.force_login(pv.users[who])
    return c


def open_case(pv) -> Case:
    return services.case_open_from_note(note=pv.confirmed, by=pv.users["reviewer2"]).case


def test_open_case_shows_on_a_confirmed_note_for_reviewers_and_admins_only(pv):
    url = reverse("note-detail", args=["pv", pv.confirmed.pk])
    for who in ("reviewer", "admin"):
        body = client(pv, who).get(url).content.decode()
        assert 'id="open-case-btn"' in body and reverse("case-open", args=["pv", pv.confirmed.pk]) in body
    assert b"open-case-btn" not in client(pv, "annotator").get(url).content
    # A note nobody confirmed offers none.
    assert b"open-case-btn" not in client(pv, "reviewer").get(
        reverse("note-detail", args=["pv", pv.unconfirmed.pk])).content


def test_open_case_opens_it_and_the_note_then_links_to_it(pv):
    response = client(pv, "reviewer").post(reverse("case-open", args=["pv", pv.confirmed.pk]))
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("case-detail", args=["pv", case.pk])
    body = client(pv, "reviewer").get(reverse("note-detail", args=["pv", pv.confirmed.pk])).content.decode()
    assert 'id="note-case-link"' in body and f"Case {case.reference}" in body and "open-case-btn" not in body
    # Clicking again goes to the same case.
    again = client(pv, "admin").post(reverse("case-open", args=["pv", pv.confirmed.pk]))
    assert again["Location"] == reverse("case-detail", args=["pv", case.pk]) and Case.objects.count() == 1


def test_opening_an_unconfirmed_note_says_why_and_opens_nothing(pv):
    response = client(pv, "reviewer").post(reverse("case-open", args=["pv", pv.unconfirmed.pk]), follow=True)
    assert "Only a confirmed ADE opens a case" in response.content.decode() and Case.objects.count() == 0


@pytest.mark.parametrize(("who", "status"), [("annotator", 403), ("outsider", 404), ("reviewer", 200), ("admin", 200)])
def test_case_pages_are_for_reviewers_and_admins(pv, who, status):
    case = open_case(pv)
    for url in (reverse("case-detail", args=["pv", case.pk]), reverse("case-list", args=["pv"])):
        assert client(pv, who).get(url).status_code == status, url
    post = client(pv, who).post(reverse("case-edit", args=["pv", case.pk]), {"version": 1, "narrative": "x"})
    assert post.status_code == (302 if status == 200 else status)
    assert Case.objects.get(pk=case.pk).narrative == ("x" if status == 200 else case.narrative)


def test_the_dashboard_links_cases_for_reviewers_not_annotators(pv):
    url = reverse("project-dashboard", args=["pv"])
    assert b'id="cases-link"' in client(pv, "reviewer").get(url).content
    assert b'id="cases-link"' not in client(pv, "annotator").get(url).content


def test_the_case_page_shows_the_prefilled_case_with_evidence_links_and_suggested_answers(pv):
    case = open_case(pv)
    response = client(pv, "reviewer").get(reverse("case-detail", args=["pv", case.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "patient-7" in body and "5 mg daily" in body and "gastrointestinal bleeding" in body
    # Evidence links go back into the editor, at the annotation, in the signed-off set.
    gold = case.evidence.get(kind="relation").annotation_set_id
    assert f'{reverse("note-detail", args=["pv", pv.confirmed.pk])}?set={gold}#T4' in body
    # The suggested answers are pre-selected, marked, with the sentence they come from.
    assert 'name="q2" value="yes" checked' in body and 'name="q3" value="yes" checked' in body
    assert "suggested: Yes" in body and "it was stopped and symptoms resolved" in body
    assert "Naranjo score <b class=\"score\">3</b> · <b class=\"category\">possible</b>" in body and "(not saved)" in body
    assert "Rechallenge satisfactory, if necessary" in body  # the WHO-UMC criteria are shown
    assert 'id="serious-hospitalisation"' in body and 'id="assess-btn"' in body
    assert "Causality of D1 for R1 is not assessed." in body
    record = AuditEvent.objects.filter(action="note_view", details__view="case").get()
    assert record.details["notes"] == [pv.confirmed.pk] and record.details["case"] == case.pk


def test_the_live_score_scores_the_forms_answers_and_writes_nothing(pv):
    case = open_case(pv)
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    url = reverse("case-causality-score", args=["pv", case.pk, d1.pk, r1.pk])
    response = client(pv, "reviewer").post(url, {"q2": "yes", "q3": "yes", "q5": "no", "q4": "yes"},
                                           HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and body.startswith(f'<p id="score-{d1.pk}-{r1.pk}"')
    assert '<b class="score">7</b>' in body and '<b class="category">probable</b>' in body
    assert client(pv, "reviewer").post(url, {"q2": "perhaps"}).status_code == 400
    assert client(pv, "annotator").post(url, {"q2": "yes"}).status_code == 403
    assert client(pv, "reviewer").post(reverse("case-causality-score", args=["pv", case.pk, d1.pk, 999999]),
                                       {"q2": "yes"}).status_code == 404
    assert not case.causality.exists() and Case.objects.get(pk=case.pk).version == 1


def test_saving_an_assessment_then_assessing_the_case_through_the_forms(pv):
    case = open_case(pv)
    d1, r1 = case.drugs.get(key="D1"), case.reactions.get(key="R1")
    c = client(pv, "reviewer")
    answers = {"version": 1, "who_umc": "probable", "q2": "yes", "q3": "yes", "q5": "no", "q9": "dont_know"}
    response = c.post(reverse("case-causality", args=["pv", case.pk, d1.pk, r1.pk]), answers)
    assert response.status_code == 302 and response["Location"].endswith(f"#pair-{d1.pk}-{r1.pk}")
    row = case.causality.get()
    assert (row.naranjo_score, row.naranjo_category, row.who_umc) == (5, "probable", "probable")
    c.post(reverse("case-edit", args=["pv", case.pk]), {"version": 2, "seriousness": ["hospitalisation"],
                                                        "narrative": "n", "onset": "2026-03-04"})
    response = c.post(reverse("case-transition", args=["pv", case.pk]), {"version": 3, "to": "assessed"}, follow=True)
    assert "The case is assessed." in response.content.decode()
    case.refresh_from_db()
    assert case.state == "assessed" and case.serious_hospitalisation and case.assessed_by == pv.users["reviewer"]


def test_a_stale_form_is_refused_with_a_message_and_nothing_written(pv):
    case = open_case(pv)
    c = client(pv, "reviewer")
    c.post(reverse("case-edit", args=["pv", case.pk]), {"version": 1, "narrative": "first"})
    response = c.post(reverse("case-edit", args=["pv", case.pk]), {"version": 1, "narrative": "second"}, follow=True)
    assert "This case changed since you read it" in response.content.decode()
    assert Case.objects.get(pk=case.pk).narrative == "first"


def test_drug_and_reaction_forms_add_change_and_remove(pv):
    case = open_case(pv)
    c = client(pv, "reviewer")
    c.post(reverse("case-drug-add", args=["pv", case.pk]), {"version": 1, "name": "aspirin", "role": "concomitant"})
    aspirin = case.drugs.get(name="aspirin")
    c.post(reverse("case-drug-update", args=["pv", case.pk, aspirin.pk]),
           {"version": 2, "name": "aspirin", "role": "concomitant", "dose": "81 mg", "route": "oral",
            "action_taken": "dose_not_changed", "dechallenge": "not_done", "start": "", "end": ""})
    aspirin.refresh_from_db()
    assert (aspirin.dose, aspirin.route, aspirin.action_taken) == ("81 mg", "oral", "dose_not_changed")
    c.post(reverse("case-reaction-add", args=["pv", case.pk]), {"version": 3, "term": "anaemia"})
    anaemia = case.reactions.get(term="anaemia")
    c.post(reverse("case-reaction-update", args=["pv", case.pk, anaemia.pk]),
           {"version": 4, "term": "anaemia", "code": "10002034", "code_system": "meddra", "code_version": "27.0",
            "pt_code": "10002034", "pt_text": "Anaemia", "outcome": "recovering", "onset": "2026-03-05"})
    anaemia.refresh_from_db()
    assert (anaemia.code, anaemia.pt_text, anaemia.outcome, str(anaemia.onset)) == (
        "10002034", "Anaemia", "recovering", "2026-03-05")
    c.post(reverse("case-reaction-remove", args=["pv", case.pk, anaemia.pk]), {"version": 5})
    c.post(reverse("case-drug-remove", args=["pv", case.pk, aspirin.pk]), {"version": 6})
    assert Case.objects.get(pk=case.pk).version == 7 and case.drugs.count() == 2 and case.reactions.count() == 1


def test_another_note_of_the_patient_is_offered_and_added(pv):
    case = open_case(pv)
    c = client(pv, "reviewer")
    body = c.get(reverse("case-detail", args=["pv", case.pk])).content.decode()
    assert "note-follow-up" in body and "note-other" not in body  # only this patient's notes
    c.post(reverse("case-note-add", args=["pv", case.pk]), {"version": 1, "note": pv.follow_up.pk})
    assert set(case.notes.values_list("external_id", flat=True)) == {"note-ade", "note-follow-up"}


def test_the_line_listing_filters_by_post_and_keeps_clinical_words_out_of_the_address(pv):
    case = open_case(pv)
    c = client(pv, "reviewer")
    response = c.post(reverse("case-list", args=["pv"]), {"drug": "warfarin", "state": "draft"})
    assert response.status_code == 302
    address = response["Location"]
    assert "warfarin" not in address and "search=" in address and "state=draft" in address
    body = c.get(address).content.decode()
    assert case.reference in body and 'value="warfarin"' in body
    # HTMX: the results only, with the address pushed.
    response = c.post(reverse("case-list", args=["pv"]), {"drug": "amoxicillin"}, HTTP_HX_REQUEST="true")
    assert response["HX-Push-Url"].startswith(reverse("case-list", args=["pv"]))
    assert "No cases match." in response.content.decode() and "<html" not in response.content.decode()
    assert c.get(reverse("case-list", args=["pv"]) + "?seriousness=banana").status_code == 200  # a message, no 500


def test_downloads_are_for_admins_formula_safe_and_audited(pv):
    case = open_case(pv)
    services.case_update(case=case, by=pv.users["admin"], version=1, reporter="=HYPERLINK(\"http://x\")")
    reporter = COLUMNS.index("reporter")
    admin = client(pv, "admin")
    assert client(pv, "reviewer").get(reverse("case-list-csv", args=["pv"])).status_code == 403
    response = admin.get(reverse("case-list-csv", args=["pv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] == "case" and rows[1][0] == case.reference
    assert rows[1][reporter] == "'=HYPERLINK(\"http://x\")"  # a formula-like cell is quoted
    assert AuditEvent.objects.filter(action="download", object_type="case_line_listing").count() == 1
    from openpyxl import load_workbook

    response = admin.get(reverse("case-list-xlsx", args=["pv"]))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "case" and values[1][0] == case.reference
    assert values[1][reporter].startswith("'=HYPERLINK")
    assert sheet.cell(2, reporter + 1).data_type == "s"  # text, not a formula
    # Filtered downloads follow the listing's filters (token included).
    address = admin.post(reverse("case-list", args=["pv"]), {"reaction": "melaena"})["Location"]
    query = address.partition("?")[2]
    rows = list(csv.reader(io.StringIO(admin.get(reverse("case-list-csv", args=["pv"]) + "?" + query).content.decode())))
    assert len(rows) == 1  # the header only: no case has melaena


def test_a_login_is_needed(pv):
    case = open_case(pv)
    response = Client().get(reverse("case-detail", args=["pv", case.pk]))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert PASSWORD


def test_the_line_listing_reads_a_page_of_cases_in_a_fixed_number_of_queries(pv):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    open_case(pv)
    c = client(pv, "reviewer")
    url = reverse("case-list", args=["pv"])
    c.get(url)  # the session's first read
    with CaptureQueriesContext(connection) as one:
        assert c.get(url).status_code == 200
    for n in range(4):
        other = Case.objects.create(project=pv.project, reference=f"pv-x{n}", patient_identifier=f"p{n}",
                                    created_by=pv.users["admin"])
        other.notes.add(pv.unconfirmed)
        services.case_drug_add(case=other, by=pv.users["admin"], version=1, name=f"drug {n}")
        services.case_reaction_add(case=other, by=pv.users["admin"], version=2, term=f"reaction {n}")
    with CaptureQueriesContext(connection) as five:
        body = c.get(url).content.decode()
    assert body.count('class="case-link"') == 5
    # session, user, membership, count, the page of cases, its drugs, reactions, causality, notes, the audit row
    # (no evidence: the listing quotes no note)
    assert len(five) == len(one), [q["sql"][:100] for q in five]
    assert len(five) == 10, "\n".join(q["sql"][:60] for q in five)
