"""`ade-review adapt` on a folder of text files: the adapted encoder is written, the report printed, a
progress line shown, and bad input refused with exit status 2."""

from __future__ import annotations

import json

import pytest

from inference.cli import main
from inference.core.adaptation.synthetic import synthetic_corpus
from tests.factories import tiny_encoder


def test_adapt_a_folder_of_notes(tmp_path, capsys):
    encoder = tiny_encoder(tmp_path / "tiny")
    notes = tmp_path / "notes"
    (notes / "ward").mkdir(parents=True)
    for doc in synthetic_corpus(12, seed=4):
        (notes / "ward" / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8")
    (notes / "ward" / "zh-0.ann").write_text("T1\tDrug 0 2\tx\n", encoding="utf-8")  # brat files are skipped
    out = tmp_path / "adapted"
    code = main(["adapt", "--texts", str(notes), "--encoder", str(encoder), "--out", str(out), "--steps", "4",
                 "--batch-size", "4", "--max-length", "48", "--head-warmup-steps", "2", "--min-word-count", "2",
                 "--threads", "1", "--device", "cpu", "--json", str(tmp_path / "report.json")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "36 texts" in captured.out and "-> 0.00%" in captured.out and f"saved {out}" in captured.out
    assert "step 4/4" in captured.err  # the progress line
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["metrics"]["unk_rate_after"] == 0.0 and report["steps"] == 4
    assert (out / "config.json").is_file() and (out / "tokenizer.json").is_file()


def test_adapt_refuses_bad_input(tmp_path, capsys):
    assert main(["adapt", "--out", str(tmp_path / "o")]) == 2
    assert "--texts" in capsys.readouterr().err
    assert main(["adapt", "--texts", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["adapt", "--texts", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "no text" in capsys.readouterr().err


@pytest.mark.django_db
def test_adapt_a_projects_notes_with_the_projects_encoder(tmp_path, capsys):
    from annotations.models import Note
    from annotations.services.corpus_import import project_get_or_create, text_hash

    encoder = tiny_encoder(tmp_path / "tiny")
    project = project_get_or_create(slug="ko-ward", name="Korean ward")
    project.encoder_path = str(encoder)
    project.save(update_fields=["encoder_path"])
    for doc in synthetic_corpus(6, languages=("ko",), seed=2):
        Note.objects.create(project=project, external_id=doc.id, text=doc.text, text_hash=text_hash(doc.text))
    out = tmp_path / "adapted"
    code = main(["adapt", "--project", "ko-ward", "--out", str(out), "--steps", "2", "--batch-size", "2",
                 "--max-length", "32", "--head-warmup-steps", "0", "--threads", "1", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"6 texts; adapting {encoder.resolve()}" in captured.out  # the project's notes and encoder
    assert (out / "adaptation.json").is_file()
    assert main(["adapt", "--project", "no-such-ward", "--out", str(out)]) == 2
    assert "no project" in capsys.readouterr().err
