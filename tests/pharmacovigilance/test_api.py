"""The case API: open from a note, read with evidence and suggestions, update with the version (body or
If-Match; 409 with the current ETag when stale), drugs and reactions, causality, transitions, the list and the
search (drug and reaction words in the body), and who may do what."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.audit.models import AuditEvent
from pharmacovigilance.models import Case

pytestmark = pytest.mark.django_db


def api(pv, who: str) -> APIClient:
    c = APIClient()
    c.force_authenticate(pv.users[who])
    return c


def opened(pv, who="reviewer2") -> dict:
    response = api(pv, who).post(reverse("api-case-list", args=["pv"]), {"note": pv.confirmed.pk}, format="json")
    assert response.status_code == 201, response.data
    return response.json()


def test_a_reviewer_opens_reads_codes_assesses_and_moves_a_case_through_the_api(pv):
    case = opened(pv)
    assert case["state"] == "draft" and case["version"] == 1 and case["patient_identifier"] == "patient-7"
    assert [d["name"] for d in case["drugs"]] == ["warfarin", "metformin"]
    warfarin, bleeding = case["drugs"][0], case["reactions"][0]
    assert any(e["quote"] == "5 mg daily" and e["drug"] == warfarin["id"] for e in case["evidence"])
    (pair,) = case["pairs"]
    assert pair["suggestions"]["2"]["answer"] == "yes" and pair["suggestions"]["3"]["evidence"][0]["quote"]
    assert pair["who_umc_suggestion"]["answer"] == "probable" and pair["assessed"] is False
    c = api(pv, "reviewer")
    detail = reverse("api-case-detail", args=["pv", case["id"]])
    # The same note again: its case, 200.
    again = c.post(reverse("api-case-list", args=["pv"]), {"note": pv.confirmed.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == case["id"]
    response = c.get(detail)
    assert response.status_code == 200 and response["ETag"] == '"1"'
    response = c.patch(reverse("api-case-reaction-detail", args=["pv", case["id"], bleeding["id"]]),
                       {"code": "10017955", "code_system": "meddra", "code_version": "27.0", "pt_code": "10017955",
                        "pt_text": "Gastrointestinal haemorrhage"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200 and response.json()["reactions"][0]["pt_code"] == "10017955"
    response = c.post(reverse("api-case-causality", args=["pv", case["id"]]),
                      {"version": 2, "drug": warfarin["id"], "reaction": bleeding["id"], "who_umc": "probable",
                       "naranjo": {"2": "yes", "3": "yes", "5": "no", "10": "yes"}}, format="json")
    assert response.status_code == 200
    (row,) = response.json()["causality"]
    assert (row["naranjo_score"], row["naranjo_category"], row["assessed_by"]) == (6, "probable", "reviewer")
    response = c.patch(detail, {"version": 3, "seriousness": ["hospitalisation"]}, format="json")
    assert response.json()["seriousness"] == ["hospitalisation"]
    response = c.post(reverse("api-case-transition", args=["pv", case["id"]]), {"version": 4, "to": "assessed"},
                      format="json")
    body = response.json()
    assert response.status_code == 200 and body["state"] == "assessed" and body["assessed_by"] == "reviewer"
    assert response["ETag"] == '"5"'
    assert AuditEvent.objects.filter(action="note_view", details__view="api_case").exists()


def test_a_stale_version_gets_409_with_the_current_etag_and_nothing_written(pv):
    case = opened(pv)
    c = api(pv, "reviewer")
    detail = reverse("api-case-detail", args=["pv", case["id"]])
    assert c.patch(detail, {"version": 1, "narrative": "first"}, format="json").status_code == 200
    response = c.patch(detail, {"version": 1, "narrative": "second"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict" and response["ETag"] == '"2"'
    response = c.patch(detail, {"narrative": "no version"}, format="json")
    assert response.status_code == 428 and response.json()["code"] == "version_required"
    assert Case.objects.get(pk=case["id"]).narrative == "first"


def test_an_incomplete_case_is_not_assessed_and_says_what_is_missing(pv):
    case = opened(pv)
    response = api(pv, "reviewer").post(reverse("api-case-transition", args=["pv", case["id"]]),
                                        {"version": 1, "to": "assessed"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "incomplete"
    assert response.json()["details"]["gaps"] == ["Causality of D1 for R1 is not assessed."]


def test_drugs_and_reactions_through_the_api(pv):
    case = opened(pv)
    c = api(pv, "reviewer")
    response = c.post(reverse("api-case-drugs", args=["pv", case["id"]]),
                      {"version": 1, "name": "aspirin", "role": "concomitant", "dose": "81 mg"}, format="json")
    assert response.status_code == 201
    aspirin = next(d for d in response.json()["drugs"] if d["name"] == "aspirin")
    assert aspirin["key"] == "D3" and aspirin["dose"] == "81 mg"
    bad = c.post(reverse("api-case-drugs", args=["pv", case["id"]]), {"version": 2, "role": "villain"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    response = c.delete(reverse("api-case-drug-detail", args=["pv", case["id"], aspirin["id"]]) + "?version=2")
    assert response.status_code == 200 and len(response.json()["drugs"]) == 2
    response = c.post(reverse("api-case-reactions", args=["pv", case["id"]]), {"version": 3, "term": "anaemia"},
                      format="json")
    anaemia = next(r for r in response.json()["reactions"] if r["term"] == "anaemia")
    response = c.delete(reverse("api-case-reaction-detail", args=["pv", case["id"], anaemia["id"]]),
                        HTTP_IF_MATCH='"4"')
    assert response.status_code == 200 and [r["term"] for r in response.json()["reactions"]] == [
        "gastrointestinal bleeding"]
    response = c.post(reverse("api-case-notes", args=["pv", case["id"]]), {"version": 5, "note": pv.stranger.pk},
                      format="json")
    assert response.status_code == 400 and response.json()["code"] == "other_patient"
    response = c.post(reverse("api-case-notes", args=["pv", case["id"]]), {"version": 5, "note": pv.follow_up.pk},
                      format="json")
    assert response.status_code == 200 and len(response.json()["notes"]) == 2


def test_the_list_filters_and_the_search_takes_drug_words_in_the_body(pv):
    case = opened(pv)
    c = api(pv, "reviewer")
    listed = c.get(reverse("api-case-list", args=["pv"]) + "?state=draft").json()
    assert [r["id"] for r in listed["results"]] == [case["id"]]
    assert c.get(reverse("api-case-list", args=["pv"]) + "?state=gone").status_code == 400
    found = c.post(reverse("api-case-search", args=["pv"]), {"drug": "warfarin"}, format="json").json()
    assert [r["id"] for r in found["results"]] == [case["id"]]
    found = c.post(reverse("api-case-search", args=["pv"]), {"reaction": "rash"}, format="json").json()
    assert found["results"] == []


@pytest.mark.parametrize(("who", "read", "write"), [("annotator", 403, 403), ("outsider", 404, 404)])
def test_annotators_and_outsiders_get_no_case(pv, who, read, write):
    case = opened(pv)
    c = api(pv, who)
    assert c.get(reverse("api-case-list", args=["pv"])).status_code == read
    assert c.get(reverse("api-case-detail", args=["pv", case["id"]])).status_code == read
    assert c.post(reverse("api-case-search", args=["pv"]), {}, format="json").status_code == read
    response = c.patch(reverse("api-case-detail", args=["pv", case["id"]]), {"version": 1, "narrative": "x"},
                       format="json")
    assert response.status_code == write and set(response.json()) == {"code", "message", "details"}
    assert c.post(reverse("api-case-list", args=["pv"]), {"note": pv.confirmed.pk}, format="json").status_code == write


def test_a_case_of_another_project_is_not_found(pv):
    case = opened(pv)
    from annotations.models import ProjectMembership

    ProjectMembership.objects.create(project=pv.other, user=pv.users["reviewer"], role="reviewer")
    response = api(pv, "reviewer").get(reverse("api-case-detail", args=["elsewhere", case["id"]]))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
