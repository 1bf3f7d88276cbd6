"""Jobs in-process (eager, as in the demo): pre-annotation, classification, re-runs, errors, cancellation."""

from __future__ import annotations

import pytest

from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, Note, NoteLabel, ReviewStatus
from inference.jobs.engine import job_cancel, job_chunk_run, job_create, job_plan
from inference.models import Job, JobChunk, JobError, JobState, ModelVersion

from .conftest import make_notes

pytestmark = pytest.mark.django_db


def run(django_capture_on_commit_callbacks, **kwargs) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(**kwargs)
    job.refresh_from_db()
    return job


def test_pre_annotation_writes_one_model_set_per_note_and_a_rerun_replaces(
    project, model_version, django_capture_on_commit_callbacks
):
    make_notes(project, 23)
    params = {"chunk_size": 5, "batch_size": 4}
    job = run(django_capture_on_commit_callbacks, project=project, kind="pre_annotate", parameters=params)
    assert (job.state, job.total, job.done, job.failed) == (JobState.SUCCEEDED, 23, 23, 0)
    assert job.chunks.count() == 5
    sets = AnnotationSet.objects.filter(source_kind="model", model_version=model_version)
    assert sets.count() == 23 and set(sets.values_list("status", flat=True)) == {"pre_annotated"}
    assert NoteLabel.objects.filter(annotation_set__in=sets, confidence__isnull=False).count() == 23
    first = dict(NoteLabel.objects.values_list("annotation_set__note_id", "confidence"))

    again = run(django_capture_on_commit_callbacks, project=project, kind="pre_annotate", parameters=params)
    assert again.state == JobState.SUCCEEDED
    assert sets.count() == 23 and NoteLabel.objects.count() == 23
    assert set(sets.values_list("version", flat=True)) == {3}
    assert dict(NoteLabel.objects.values_list("annotation_set__note_id", "confidence")) == pytest.approx(
        first
    )


def test_a_chunk_delivered_twice_writes_and_counts_once(
    project, model_version, django_capture_on_commit_callbacks
):
    make_notes(project, 10)
    with django_capture_on_commit_callbacks(execute=False):
        job = job_create(project=project, kind="pre_annotate", parameters={"chunk_size": 5})
    with django_capture_on_commit_callbacks(execute=False):
        assert job_plan(job_id=job.pk) == [0, 1]
    assert job_chunk_run(job_id=job.pk, index=0) is True
    assert job_chunk_run(job_id=job.pk, index=0) is False  # redelivered after completion: nothing written
    job.refresh_from_db()
    assert (job.done, job.state) == (5, JobState.RUNNING)
    assert job_chunk_run(job_id=job.pk, index=1) is True
    job.refresh_from_db()
    assert (job.done, job.failed, job.state) == (10, 0, JobState.SUCCEEDED)
    assert AnnotationSet.objects.filter(source_kind="model").count() == 10


def test_classification_scores_every_note_and_flags_at_the_threshold(
    project, model_version, django_capture_on_commit_callbacks
):
    notes = make_notes(project, 12)
    job = run(
        django_capture_on_commit_callbacks, project=project, kind="classify", parameters={"chunk_size": 5}
    )
    assert (job.state, job.done) == (JobState.SUCCEEDED, 12)
    scored = list(Note.objects.filter(pk__in=[n.pk for n in notes]))
    assert all(n.ade_probability is not None and 0 <= n.ade_uncertainty <= 1 for n in scored)
    assert all(n.flagged == (n.ade_probability >= project.ade_threshold) for n in scored)
    # the threshold decides the flag
    project.ade_threshold = 0.0
    project.save()
    run(django_capture_on_commit_callbacks, project=project, kind="classify", parameters={})
    assert not Note.objects.filter(project=project, flagged=False).exists()


def test_a_malformed_note_records_its_error_and_the_others_finish(
    project, model_version, django_capture_on_commit_callbacks
):
    make_notes(project, 9)
    bad = Note.objects.create(project=project, external_id="broken-17", text="   \n ", text_hash="x")
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="pre_annotate",
        parameters={"chunk_size": 4, "batch_size": 4},
    )
    assert (job.state, job.total, job.done, job.failed) == (JobState.PARTIALLY_FAILED, 10, 9, 1)
    error = JobError.objects.get(job=job)
    assert error.note_id == bad.pk and "malformed note" in error.message
    assert AnnotationSet.objects.filter(source_kind="model").count() == 9
    assert not AnnotationSet.objects.filter(note=bad).exists()


def test_selection_unreviewed_and_filter(project, model_version, django_capture_on_commit_callbacks):
    notes = make_notes(project, 6)
    Note.objects.filter(pk__in=[notes[0].pk, notes[1].pk]).update(review_status=ReviewStatus.SIGNED_OFF)
    Note.objects.filter(pk=notes[2].pk).update(unit="icu")
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="classify",
        parameters={"selection": "unreviewed"},
    )
    assert job.total == 4
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="classify",
        parameters={"selection": "filter", "filter": {"unit": "icu"}},
    )
    assert job.total == 1
    with pytest.raises(ApplicationError) as excinfo:
        job_create(
            project=project, kind="classify", parameters={"selection": "filter", "filter": {"text": "x"}}
        )
    assert excinfo.value.code == "bad_selection"


def test_cancel_stops_remaining_chunks(project, model_version, django_capture_on_commit_callbacks):
    make_notes(project, 10)
    with django_capture_on_commit_callbacks(execute=False):
        job = job_create(project=project, kind="classify", parameters={"chunk_size": 5})
    with django_capture_on_commit_callbacks(execute=False):
        job_plan(job_id=job.pk)
    assert job_chunk_run(job_id=job.pk, index=0)
    job_cancel(job=job)
    assert job_chunk_run(job_id=job.pk, index=1) is False
    job.refresh_from_db()
    assert (job.state, job.done) == (JobState.CANCELLED, 5)
    assert JobChunk.objects.get(job=job, index=1).completed_at is None
    with pytest.raises(ApplicationError) as excinfo:
        job_cancel(job=job)
    assert excinfo.value.code == "job_finished"


def test_no_model_is_an_application_error(project):
    with pytest.raises(ApplicationError) as excinfo:
        job_create(project=project, kind="classify")
    assert excinfo.value.code == "no_model"


def test_start_job_command(project, model_version, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    make_notes(project, 4)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "start_job", "--project", project.slug, "--kind", "classify", "--chunk-size", "2", stdout=out
        )
    job = Job.objects.get()
    assert "started on ward-7" in out.getvalue()
    assert (job.state, job.done, job.parameters["chunk_size"]) == (JobState.SUCCEEDED, 4, 2)


@pytest.mark.django_db(transaction=True)
def test_start_job_command_waits_for_the_end(project, model_version):
    from io import StringIO

    from django.core.management import call_command

    make_notes(project, 4)
    out = StringIO()
    call_command("start_job", "--project", project.slug, "--kind", "classify", "--wait", stdout=out)
    assert "succeeded: 4/4 done, 0 failed" in out.getvalue()


def test_pre_annotation_with_the_model_core_pipeline(
    project, pipeline_dir, django_capture_on_commit_callbacks
):
    from annotations.models import Entity

    version = ModelVersion.objects.create(
        project=project, name="pipe-v1", path=str(pipeline_dir), is_active=True
    )
    make_notes(project, 8)
    params = {"chunk_size": 4, "batch_size": 4}
    job = run(django_capture_on_commit_callbacks, project=project, kind="pre_annotate", parameters=params)
    assert (job.state, job.done, job.failed) == (JobState.SUCCEEDED, 8, 0), job.message
    sets = AnnotationSet.objects.filter(source_kind="model", model_version=version)
    assert sets.count() == 8
    entities = Entity.objects.filter(annotation_set__in=sets)
    assert not entities.filter(confidence__isnull=True).exists()
    assert all(e.origin == "model" for e in entities)
    n_entities = entities.count()
    again = run(django_capture_on_commit_callbacks, project=project, kind="pre_annotate", parameters=params)
    assert again.state == JobState.SUCCEEDED
    assert sets.count() == 8 and Entity.objects.filter(annotation_set__in=sets).count() == n_entities
    job = run(django_capture_on_commit_callbacks, project=project, kind="classify", parameters={})
    assert job.state == JobState.SUCCEEDED
    assert not Note.objects.filter(project=project, ade_probability__isnull=True).exists()


def test_import_job_reports_the_broken_lines_and_refuses_paths_outside_the_projects_uploads(
    project, settings, tmp_path, django_capture_on_commit_callbacks
):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from inference.jobs.import_uploads import import_upload_save

    fixtures = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "jsonl"
    settings.MEDIA_ROOT = tmp_path

    def upload(name: str) -> str:
        return import_upload_save(project=project, upload=SimpleUploadedFile(name, (fixtures / name).read_bytes()))

    good = upload("good.jsonl")
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="import",
        parameters={"path": good, "format": "jsonl"},
    )
    assert job.state == JobState.SUCCEEDED and job.done == Note.objects.filter(project=project).count() > 0
    broken = upload("broken.jsonl")
    job = run(
        django_capture_on_commit_callbacks,
        project=project,
        kind="import",
        parameters={"path": broken, "format": "jsonl"},
    )
    assert job.state in (JobState.PARTIALLY_FAILED, JobState.FAILED) and job.failed > 0
    assert JobError.objects.filter(job=job, note__isnull=True).exists()
    with pytest.raises(ApplicationError) as excinfo:
        job_create(
            project=project,
            kind="import",
            parameters={"path": str(fixtures / "good.jsonl"), "format": "jsonl"},
        )
    assert excinfo.value.code == "bad_parameters"


def test_beat_classifies_newly_arrived_notes_once(project, model_version, django_capture_on_commit_callbacks):
    from inference.tasks import classify_new_notes_task

    make_notes(project, 5)
    with django_capture_on_commit_callbacks(execute=True):
        started = classify_new_notes_task()
    assert len(started) == 1 and Job.objects.get(pk=started[0]).state == JobState.SUCCEEDED
    assert not Note.objects.filter(project=project, ade_probability__isnull=True).exists()
    make_notes(project, 2, prefix="later")
    with django_capture_on_commit_callbacks(execute=True):
        (job_id,) = classify_new_notes_task()
    assert Job.objects.get(pk=job_id).total == 2  # only the new ones
    with django_capture_on_commit_callbacks(execute=True):
        assert classify_new_notes_task() == []
