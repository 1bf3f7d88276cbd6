"""Chinese notes through the editor's pre-annotation path: a model trained on Chinese records (by characters)
pre-annotates Chinese notes in a job, and the stored entities' character offsets hold their text."""

from __future__ import annotations

import pytest

from annotations.models import AnnotationSet, Entity, Note
from annotations.services.corpus_import import text_hash
from inference.core.adaptation.synthetic import synthetic_documents
from inference.core.extraction.pipeline_training import PipelineTrainConfig, train_pipeline
from inference.jobs.engine import job_create
from inference.models import Job, JobState, ModelVersion
from tests.factories import tiny_chinese_encoder

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def chinese_model(tmp_path_factory):
    records = synthetic_documents("zh", 6, seed=3, sentences_per_document=4)
    encoder = tiny_chinese_encoder(tmp_path_factory.mktemp("zh") / "tiny-zh", [d.text for d in records])
    config = PipelineTrainConfig(encoder=str(encoder), ner_epochs=30, batch_size=2, lr=1e-3, head_lr=3e-3,
                                 max_length=128, train_re=False, threads=1)
    out = tmp_path_factory.mktemp("zh-model") / "model"
    train_pipeline(records, config).save(out)
    return records, out


def test_chinese_notes_are_pre_annotated_with_character_offsets(
    project, chinese_model, django_capture_on_commit_callbacks
):
    records, model_dir = chinese_model
    version = ModelVersion.objects.create(project=project, name="zh-v1", path=str(model_dir), is_active=True)
    for doc in records:
        Note.objects.create(project=project, external_id=doc.id, text=doc.text, text_hash=text_hash(doc.text))
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(project=project, kind="pre_annotate", parameters={"chunk_size": 3, "batch_size": 2})
    job = Job.objects.get(pk=job.pk)
    assert (job.state, job.done, job.failed) == (JobState.SUCCEEDED, 6, 0), job.message
    entities = Entity.objects.filter(annotation_set__in=AnnotationSet.objects.filter(model_version=version))
    assert entities.count() > 0
    gold = {(d.id, e.start, e.end, e.type) for d in records for e in d.entities}
    found = set()
    for ent in entities.select_related("annotation_set__note"):
        note = ent.annotation_set.note
        assert note.text[ent.start : ent.end] == ent.text and ent.fragments == [[ent.start, ent.end]]
        found.add((note.external_id, ent.start, ent.end, ent.type))
    assert len(found & gold) >= 0.5 * len(found)  # most of what the model marks is a gold entity, exactly
