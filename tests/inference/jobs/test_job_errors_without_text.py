"""Job errors are shown to everyone who may see the job page: they name files, lines, ids and offsets,
never a note's text (PHI read without an audit record otherwise)."""

from __future__ import annotations

import pytest

from annotations.services.corpus_import import project_get_or_create
from inference.jobs.engine import job_create, job_single_run
from inference.models import JobError

pytestmark = pytest.mark.django_db

SECRET = "Hemoptysis after apixaban"  # clinical text that must not leave the note


def test_an_import_job_error_names_the_offsets_not_the_text(tmp_path):
    (tmp_path / "a.txt").write_text(f"{SECRET} was reported.\n")
    (tmp_path / "a.ann").write_text("T1\tDrug 0 10\tRivaroxaban\n")  # the span holds 'Hemoptysis'
    project = project_get_or_create(slug="errors")
    job = job_create(project=project, kind="import", parameters={"path": str(tmp_path), "format": "brat"},
                     any_import_path=True)
    job_single_run(job_id=job.pk)
    [error] = JobError.objects.filter(job=job)
    assert error.message.startswith("a.ann:1: T1:") and "0-10" in error.message
    for word in ("Hemoptysis", "Rivaroxaban", "apixaban"):
        assert word not in error.message


def test_an_ade_corpus_mention_missing_from_its_sentence_is_reported_without_the_mention(tmp_path):
    from annotations.formats import registry

    (tmp_path / "DRUG-AE.rel").write_text(
        f"1|{SECRET} was reported.|Melena|40|46|apixaban|15|23\n", encoding="utf-8"
    )
    problems = [str(p) for result in registry.READERS["ade"](tmp_path) for p in result.problems]
    assert problems, "the reader reports the missing mention"
    assert all("Melena" not in p and "Hemoptysis" not in p for p in problems)
