"""Exporting: what was imported comes back out saying the same things, in every supported shape."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from annotations.formats.brat import parse_brat
from annotations.formats.canonical import canonical_diff
from annotations.services.corpus_export import corpus_export
from annotations.services.corpus_import import corpus_import, project_get_or_create

pytestmark = pytest.mark.django_db


def copy_subset(source, target, n, pattern="*.ann"):
    target.mkdir(parents=True, exist_ok=True)
    stems = sorted({p.relative_to(source).with_suffix("") for p in source.rglob(pattern)})[:n]
    for stem in stems:
        for ext in (".txt", ".ann"):
            src = source / stem.with_suffix(ext)
            dst = target / stem.with_suffix(ext).name
            shutil.copy(src, dst)
    return target


def assert_brat_round_trip(source_dir, out_dir):
    compared = 0
    for ann in sorted(source_dir.glob("*.ann")):
        txt = ann.with_suffix(".txt")
        assert (out_dir / txt.name).read_bytes() == txt.read_bytes(), txt.name
        original_text = txt.read_bytes().decode("utf-8")
        before = parse_brat(original_text, ann.read_bytes().decode("utf-8"), doc_id=ann.stem, source=ann.name)
        after_path = out_dir / ann.name
        after = parse_brat(original_text, after_path.read_bytes().decode("utf-8"), doc_id=ann.stem, source=ann.name)
        assert canonical_diff(before, after) == [], ann.name
        compared += 1
    return compared


@pytest.mark.corpus
def test_maccrobat_subset_round_trips_through_the_database(corpus_dir, tmp_path):
    source = copy_subset(corpus_dir / "maccrobat2020", tmp_path / "in", 12)
    project = project_get_or_create(slug="maccrobat")
    report = corpus_import(project=project, path=source, fmt="brat")
    assert report.skipped == [], report.summary()
    written = corpus_export(project=project, out=tmp_path / "out", fmt="brat")
    assert written == 12
    assert assert_brat_round_trip(source, tmp_path / "out") == 12


@pytest.mark.corpus
def test_ncbi_subset_round_trips_through_a_zip(corpus_dir, tmp_path):
    source = copy_subset(corpus_dir / "ncbi_disease", tmp_path / "in", 10)
    project = project_get_or_create(slug="ncbi")
    corpus_import(project=project, path=source, fmt="brat")
    corpus_export(project=project, out=tmp_path / "out.zip", fmt="brat")
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        zf.extractall(tmp_path / "unzipped")
    unzipped = next(p.parent for p in (tmp_path / "unzipped").rglob("*.ann"))
    assert assert_brat_round_trip(source, unzipped) == 10


def test_jsonl_export_reimports_to_the_same_annotations(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Warfarin caused bleeding.\n")
    (folder / "a.ann").write_text(
        "T1\tDrug 0 8\tWarfarin\nT2\tAdverse-Effect 16 24\tbleeding\nR1\tAdverse-Effect Arg1:T1 Arg2:T2\n"
        "A1\tNegation T2\n#1\tAnnotatorNotes T1\tchecked\n"
    )
    first = project_get_or_create(slug="first")
    corpus_import(project=first, path=folder, fmt="brat")
    assert corpus_export(project=first, out=tmp_path / "out.jsonl", fmt="jsonl") == 1
    second = project_get_or_create(slug="second")
    report = corpus_import(project=second, path=tmp_path / "out.jsonl", fmt="jsonl")
    assert report.imported == 1, report.summary()
    corpus_export(project=second, out=tmp_path / "again", fmt="brat")
    assert assert_brat_round_trip(folder, tmp_path / "again") == 1


def test_conll_export_tags_entities(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("Warfarin caused bleeding.\n")
    (folder / "a.ann").write_text("T1\tDrug 0 8\tWarfarin\nT2\tAdverse-Effect 16 24\tbleeding\n")
    project = project_get_or_create(slug="p")
    corpus_import(project=project, path=folder, fmt="brat")
    assert corpus_export(project=project, out=tmp_path / "out.conll", fmt="conll") == 1
    conll_text = (tmp_path / "out.conll").read_text()
    assert "B-Drug" in conll_text and "B-Adverse-Effect" in conll_text


def test_export_from_an_unknown_source_fails_before_writing(tmp_path):
    from annotations.errors import ApplicationError

    project = project_get_or_create(slug="p")
    with pytest.raises(ApplicationError) as excinfo:
        corpus_export(project=project, out=tmp_path / "out", fmt="brat", source="nobody")
    assert excinfo.value.code == "bad_source"
    assert not (tmp_path / "out").exists()
