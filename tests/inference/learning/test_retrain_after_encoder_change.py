"""After the project's encoder changes (an adapted encoder put in use), a retrain asked to fine-tune the active
version starts from the new encoder instead, and the new version records the encoder it was trained from."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotations.models import Note
from inference.adaptation.services import project_encoder_adopt
from inference.core.adaptation.adapt import AdaptationConfig, adapt_encoder
from inference.learning.retraining import retrain_request
from inference.models import Job, JobState, ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retrain_after_adoption_starts_from_the_adapted_encoder(loop, tmp_path):
    project = loop.project
    texts = list(Note.objects.filter(project=project).values_list("text", flat=True))
    out = tmp_path / "adapted"
    adapt_encoder(AdaptationConfig(encoder=project.encoder_path, out=str(out), steps=2, batch_size=4, max_length=32,
                                   head_warmup_steps=0, threads=1, device="cpu"), texts)
    adapt = Job.objects.create(project=project, kind="adapt", state=JobState.SUCCEEDED, result_path=str(out))
    project_encoder_adopt(project=project, job_id=adapt.pk, actor=loop.users["admin"])
    assert loop.v1.encoder != str(out)

    job = retrain_request(project=project, start_from="current", epochs=1, reason="new encoder")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.message
    version = ModelVersion.objects.get(training_job=job)
    assert version.encoder == str(out)
    assert set(version.gate["started_from"].values()) == {"base"}  # not fine-tuned from v1's old encoder
    client = Client()
    client.force_login(loop.users["admin"])
    page = client.get(reverse("inference:model-version", kwargs={"slug": project.slug, "version_id": version.pk}))
    assert str(out) in page.content.decode()  # the version page names the encoder it was trained from
