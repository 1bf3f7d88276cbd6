"""Training from the command line: `start_job --kind train --wait` runs a retrain and says what the gate
decided."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from inference.models import Job, ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)


def test_start_job_trains_and_reports_the_gate_decision(loop):
    out = StringIO()
    call_command("start_job", project=loop.project.slug, kind="train", start_from="base", epochs=1, wait=True, stdout=out)
    job = Job.objects.filter(project=loop.project, kind="train").latest("pk")
    version = ModelVersion.objects.get(training_job=job)
    text = out.getvalue()
    assert f"job {job.pk} (train) started" in text and "succeeded" in text
    assert version.name in text and version.gate_outcome in text
    assert job.parameters["start_from"] == "base" and job.parameters["epochs"] == 1
