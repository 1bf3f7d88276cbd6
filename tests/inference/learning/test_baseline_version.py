"""A project's first model in seconds: the CRF + RF baseline trained on the gold becomes the active version
and pre-annotates, scores and flags the bare notes (issue 14: the demo shows flagged notes at once)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotations.models import AnnotationSet, Note, Project
from inference.models import Job, ModelVersion

pytestmark = pytest.mark.django_db


def test_seeding_the_demo_trains_a_baseline_that_flags_notes_before_any_retrain(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.MEDIA_ROOT = tmp_path / "media"  # the file store, where versions are published
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "model-cache"
    with django_capture_on_commit_callbacks(execute=True):  # the job is enqueued once the seed commits
        call_command("seed_demo")
    project = Project.objects.get(slug="demo")
    [version] = ModelVersion.objects.filter(project=project)
    assert version.is_active and version.name == "crf-rf-baseline"
    [job] = Job.objects.filter(project=project, kind="pre_annotate")
    assert job.state == "succeeded"
    bare = Note.objects.filter(project=project).exclude(annotation_sets__source_kind="import")
    assert bare.count() == 12
    assert AnnotationSet.objects.filter(note__in=bare, source_kind="model").count() == 12
    scored = bare.exclude(ade_probability=None)
    assert scored.count() == 12 and 0 < bare.filter(flagged=True).count() < 12
    # Seeding again changes nothing (idempotent: no second model, no second job).
    call_command("seed_demo")
    assert ModelVersion.objects.filter(project=project).count() == 1
    assert Job.objects.filter(project=project).count() == 1
