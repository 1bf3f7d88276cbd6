"""The terminology API: the loaded versions (site staff and project admins) and the look-up (POST)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_loaded_versions(people, staff, meddra, atc):
    _, users = people
    for who in (staff, users["admin"]):
        response = api(who).get("/api/terminology/")
        assert response.status_code == 200
        body = {t["system"]: t for t in response.json()}
        assert body["meddra"]["version"] == "27.0" and body["meddra"]["counts"]["LLT"] == 15
        assert body["meddra"]["loaded_by"] == "site-admin" and body["atc"]["loaded_from"] == "atc.csv"
    assert api(users["reviewer"]).get("/api/terminology/").status_code == 403
    assert APIClient().get("/api/terminology/").status_code == 401


def test_lookup(people, meddra):
    _, users = people
    response = api(users["annotator"]).post("/api/terminology/lookup/", {"system": "meddra", "q": "nosebl", "limit": 3},
                                            format="json")
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert {k: first[k] for k in ("system", "code", "text", "level", "pt_code", "pt_text", "version")} == {
        "system": "meddra", "code": "95000001", "text": "Nosebleed", "level": "LLT", "pt_code": "94000001",
        "pt_text": "Epistaxis", "version": "27.0"}
    assert len(response.json()["results"]) <= 3


def test_lookup_errors_and_who(people, meddra):
    _, users = people
    bad = api(users["annotator"]).post("/api/terminology/lookup/", {"system": "icd10", "q": "rash"}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"code", "message", "details"}
    assert api(users["annotator"]).get("/api/terminology/lookup/").status_code == 405
    assert api(users["nobody"]).post("/api/terminology/lookup/", {"system": "meddra", "q": "rash"},
                                      format="json").status_code == 403
