"""The active-learning loop through the REST API: start a retrain, read versions with their gate decision,
the policy and the ranked annotation queue, roll back, and read a set's provenance."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inference.models import Job, ModelVersion
from inference.models.learning import NoteScore

from .test_retrain_loop import annotate_through_the_api

pytestmark = pytest.mark.django_db(transaction=True)


def test_scripts_start_a_retrain_and_read_the_gate_decision(loop):
    admin = loop.client("admin")
    slug = loop.project.slug
    created = admin.post(reverse("api-job-list", kwargs={"slug": slug}),
                         {"kind": "train", "parameters": {"start_from": "base", "epochs": 1}}, format="json")
    assert created.status_code == 201, created.content
    job = Job.objects.get(pk=created.json()["id"])
    assert job.kind == "train" and job.state == "succeeded" and job.created_by == loop.users["admin"]
    versions = admin.get(reverse("api-model-version-list", kwargs={"slug": slug})).json()
    newest = versions[0]
    assert newest["training_job"] == job.pk and newest["parent"] == "v1"
    assert newest["gate_outcome"] in ("promoted", "refused") and newest["gate"]["metric"] == "ner_macro_f1_strict"
    assert newest["training_notes"] + newest["heldout_notes"] == 24
    busy = Job.objects.filter(pk=job.pk).update(state="running")
    assert busy == 1
    again = admin.post(reverse("api-job-list", kwargs={"slug": slug}), {"kind": "train"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "training_busy"
    refused = loop.client("annotator").post(reverse("api-job-list", kwargs={"slug": slug}), {"kind": "train"},
                                            format="json")
    assert refused.status_code == 403


def test_policy_and_annotation_queue_read_and_write(loop):
    slug = loop.project.slug
    annotator, admin = loop.client("annotator"), loop.client("admin")
    policy = annotator.get(reverse("api-retrain-policy", kwargs={"slug": slug})).json()
    assert policy["retrain_every"] == 3 and policy["new_gold"] == 0 and policy["training_job"] is None
    queue = annotator.get(reverse("api-annotation-queue", kwargs={"slug": slug})).json()
    assert [row["rank"] for row in queue["results"]] == list(range(1, len(loop.truth) + 1))
    assert "text" not in queue["results"][0] and "mnlp" in queue["results"][0]["scores"]
    changed = admin.put(reverse("api-retrain-policy", kwargs={"slug": slug}),
                        {"query_strategy": "margin", "diversity": False}, format="json")
    assert changed.status_code == 200 and changed.json()["query_strategy"] == "margin"
    margins = [r["scores"]["margin"]
               for r in annotator.get(reverse("api-annotation-queue", kwargs={"slug": slug})).json()["results"]]
    assert margins == sorted(margins, reverse=True)
    bad = admin.put(reverse("api-retrain-policy", kwargs={"slug": slug}), {"heldout_fraction": 2}, format="json")
    assert bad.status_code == 400


def test_rollback_through_the_api(loop):
    slug = loop.project.slug
    admin = loop.client("admin")
    v1 = loop.v1
    other = ModelVersion.objects.create(project=loop.project, name="by-hand", path=v1.path)
    response = admin.post(reverse("api-model-version-activate", kwargs={"slug": slug, "version_id": other.pk}))
    assert response.status_code == 200 and response.json()["is_active"]
    assert ModelVersion.objects.get(project=loop.project, is_active=True) == other
    # the rollback pre-annotated the unlabelled notes again with that version
    assert set(NoteScore.objects.filter(project=loop.project, rank__isnull=False)
               .values_list("model_version__name", flat=True)) == {"by-hand"}


def test_an_annotation_sets_provenance_says_who_proposed_what_and_what_the_annotator_did(loop):
    note = loop.unreviewed[0]
    annotate_through_the_api(loop, note)
    client = loop.client("reviewer")
    sets = client.get(reverse("api-note-annotation-sets", kwargs={"slug": loop.project.slug, "note_id": note.pk})).json()
    mine = next(s for s in sets if s["source_kind"] == "user")
    assert mine["prelabel_model_version"] == "v1" and mine["seconds_spent"] >= 0
    detail = client.get(reverse("api-annotation-set-detail", kwargs={"slug": loop.project.slug, "pk": mine["id"]}))
    provenance = detail.json()["provenance"]
    assert provenance and {p["origin"] for p in provenance} == {"human"}  # the PUT replaced everything by hand
    assert all(set(p) == {"id", "origin", "confidence", "decision", "decided_at"} for p in provenance)
