"""GET /api/projects/<slug>/agreement/: the agreement report as JSON, for members only."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.agreement.selectors import project_agreement
from tests.annotations.agreement.conftest import build_agreement_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_agreement_project(n_notes=8)


def _get(user):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(reverse("api-project-agreement", kwargs={"slug": "agree"}))


def test_members_get_the_same_figures_as_the_page(world):
    response = _get(world.users["ann1"])
    assert response.status_code == 200
    body = response.json()
    report = project_agreement(project=world.project)
    assert body["annotators"] == ["ann1", "ann2", "ann3"] and body["notes"] == 8
    assert body["verdicts"]["alpha"] == pytest.approx(report.alpha)
    assert body["verdicts"]["fleiss_notes"] == report.fleiss_notes
    assert [(p["a"], p["b"]) for p in body["pairs"]] == [("ann1", "ann2"), ("ann1", "ann3"), ("ann2", "ann3")]
    assert body["pairs"][0]["entity_f1_relaxed"] == pytest.approx(report.pairs[0].entity_f1_relaxed)
    assert {t["type"] for t in body["entity_types"]} <= {"Drug", "ADE", "Dose"}
    assert all(set(c) == {"type_a", "type_b", "entities"} for c in body["type_confusion"])


def test_non_members_get_404(world):
    response = _get(world.users["outsider"])
    assert response.status_code == 404


def test_agreement_over_time_is_in_the_json_by_week_then_month(world):
    from datetime import UTC, datetime

    from annotations.models import AnnotationSet

    AnnotationSet.objects.filter(note__project=world.project, source_kind="user").update(
        submitted_at=datetime(2026, 5, 13, 9, tzinfo=UTC))  # a Wednesday
    body = _get(world.users["ann1"]).json()
    periods = [(p["granularity"], p["start"]) for p in body["over_time"]]
    assert periods == [("week", "2026-05-11"), ("month", "2026-05-01")]
    week = body["over_time"][0]
    assert week["pair_notes"] == 3 * 8  # every pair of every note: all submitted that day
    report = project_agreement(project=world.project)
    assert week["entity_f1_strict"] == pytest.approx(report.entity_f1_strict)  # the same units as the whole
