"""Curation through the API: the awaiting notes, a note's disagreements, decisions (version or If-Match),
finishing; the same rules and records as the pages."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.audit.models import AuditEvent
from annotations.gold import gold_sets
from tests.annotations.curation_world import build_curation_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_curation_world(slug="capi")


def api(world, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.users[name])
    return client


def urls(world) -> dict:
    kw = {"slug": world.project.slug, "note_id": world.note.pk}
    return {"queue": reverse("api-curation-queue", kwargs={"slug": world.project.slug}),
            "note": reverse("api-note-curation", kwargs=kw), "finish": reverse("api-curation-finish", kwargs=kw)}


def decide_url(world, key: str) -> str:
    return reverse("api-curation-decide", kwargs={"slug": world.project.slug, "note_id": world.note.pk, "unit": key})


def test_the_queue_lists_the_awaiting_notes_without_their_text(world):
    response = api(world, "rev").get(urls(world)["queue"])
    assert response.status_code == 200
    assert [n["external_id"] for n in response.json()["results"]] == ["curated-note"]
    assert api(world, "ann1").get(urls(world)["queue"]).json()["code"] == "forbidden"


def test_a_notes_disagreements_name_each_annotators_set_and_reading_them_is_audited(world):
    response = api(world, "rev").get(urls(world)["note"])
    body = response.json()
    assert response.status_code == 200 and body["curation_set"] is None  # a GET starts nothing
    assert [s["user"] for s in body["sources"]] == ["ann1", "ann2"]
    assert body["agreed"]["entities"] == 3 and body["agreed"]["label"] is None
    assert body["disagreements_total"] == 6 and body["decided"] == 0
    verdict = body["results"][0]
    assert verdict["kind"] == "verdict" and [s["label"] for s in verdict["sides"]] == ["ade", "no_ade"]
    assert [s["annotation_set"] for s in verdict["sides"]] == [world.sets["ann1"].pk, world.sets["ann2"].pk]
    assert AuditEvent.objects.filter(action="note_view", details__view="api_curation", note=world.note).count() == 1


def test_start_decide_and_finish(world):
    client = api(world, "rev")
    started = client.post(urls(world)["note"])
    assert started.status_code == 201 and started["ETag"] == f'"{started.json()["version"]}"'
    assert client.post(urls(world)["note"]).status_code == 200  # idempotent
    body = started.json()
    version = body["version"]
    stale = client.post(decide_url(world, body["results"][1]["key"]), {"choice": "all"}, format="json",
                        HTTP_IF_MATCH=f'"{version + 5}"')
    assert stale.status_code == 412
    refused = client.post(decide_url(world, body["results"][0]["key"]), {"choice": "all", "version": version},
                          format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "cannot_take_all"  # two verdicts
    early = client.post(urls(world)["finish"], {"version": version}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "open_disagreements"
    assert len(early.json()["details"]) == 6
    for unit in body["results"]:
        answer = client.post(decide_url(world, unit["key"]),
                             {"choice": "source", "source": unit["sides"][1]["annotation_set"], "version": version},
                             format="json")
        assert answer.status_code == 200, answer.json()
        version = answer.json()["version"]
    listed = client.get(urls(world)["note"] + "?open=1").json()
    assert listed["count"] == 0 and listed["decided"] == 6
    finished = client.post(urls(world)["finish"], {"version": version}, format="json")
    assert finished.status_code == 200
    assert gold_sets(project=world.project).set_ids()[world.note.pk] == body["curation_set"]
    assert client.get(urls(world)["queue"]).json()["results"] == []


def test_a_decision_needs_a_version_and_a_real_choice(world):
    client = api(world, "rev")
    body = client.post(urls(world)["note"]).json()
    key = body["results"][0]["key"]
    assert client.post(decide_url(world, key), {"choice": "none"}, format="json").status_code == 428
    assert client.post(decide_url(world, key), {"choice": "maybe", "version": body["version"]},
                       format="json").status_code == 400
    wrong_source = client.post(decide_url(world, key), {"choice": "source", "source": 999999,
                                                        "version": body["version"]}, format="json")
    assert wrong_source.status_code == 400 and wrong_source.json()["code"] == "bad_source"
