"""Importing corpora into the database: good documents land whole, bad ones are reported and leave no trace."""

from __future__ import annotations

import shutil
import zipfile

import pytest
from django.db import DatabaseError, transaction

from annotations.models import AnnotationSet, Entity, Note, Relation
from annotations.services.corpus_import import corpus_import, project_get_or_create

pytestmark = pytest.mark.django_db

GOOD_TXT = "Warfarin caused bleeding.\r\nStopped.\n"
GOOD_ANN = "T1\tDrug 0 8\tWarfarin\nT2\tAdverse-Effect 16 24\tbleeding\nR1\tAdverse-Effect Arg1:T1 Arg2:T2\n"
CONF = "[entities]\nDrug\nAdverse-Effect\n\n[relations]\nAdverse-Effect Arg1:Drug, Arg2:Adverse-Effect\n\n[events]\n\n[attributes]\n"


def write_doc(folder, name, txt, ann, *, raw_txt: bytes | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_bytes(raw_txt if raw_txt is not None else txt.encode("utf-8"))
    (folder / f"{name}.ann").write_text(ann, encoding="utf-8", newline="")


@pytest.fixture
def project():
    return project_get_or_create(slug="p1")


def test_import_stores_notes_entities_and_relations(tmp_path, project):
    write_doc(tmp_path, "good", GOOD_TXT, GOOD_ANN)
    report = corpus_import(project=project, path=tmp_path, fmt="brat")
    assert (report.imported, report.skipped) == (1, [])
    note = Note.objects.get(project=project, external_id="good")
    assert note.text == GOOD_TXT
    assert Entity.objects.filter(annotation_set__note=note).count() == 2
    relation = Relation.objects.get(annotation_set__note=note)
    assert (relation.arg1_entity.text, relation.arg2_entity.text) == ("Warfarin", "bleeding")


def test_reimporting_the_same_corpus_does_not_duplicate_notes(tmp_path, project):
    write_doc(tmp_path, "good", GOOD_TXT, GOOD_ANN)
    corpus_import(project=project, path=tmp_path, fmt="brat")
    again = corpus_import(project=project, path=tmp_path, fmt="brat")
    assert (again.imported, again.already_present) == (0, 1)
    assert Note.objects.filter(project=project).count() == 1
    assert AnnotationSet.objects.filter(note__project=project).count() == 1


@pytest.mark.parametrize(
    "case, ann, raw_txt, expected",
    [
        ("malformed", "T1\tDrug zero 8\tWarfarin\n", None, "bad.ann:1"),
        ("offset past end", "T1\tDrug 0 800\tWarfarin\n", None, "bad.ann:1"),
        ("text mismatch", "T1\tDrug 0 8\tAspirin!\n", None, "bad.ann:1"),
        ("non-UTF-8 text", "T1\tDrug 0 8\tWarfarin\n", "Warfarin caused bl\xe9eding.".encode("latin-1"), "bad.txt"),
        ("dangling reference", "T1\tDrug 0 8\tWarfarin\nR1\tAdverse-Effect Arg1:T1 Arg2:T9\n", None, "bad.ann:2"),
    ],
)
def test_bad_document_is_reported_and_leaves_no_trace(tmp_path, project, case, ann, raw_txt, expected):
    write_doc(tmp_path, "good", GOOD_TXT, GOOD_ANN)
    write_doc(tmp_path, "bad", GOOD_TXT, ann, raw_txt=raw_txt)
    report = corpus_import(project=project, path=tmp_path, fmt="brat")
    assert report.imported == 1, case
    assert any(expected in str(p) for p in report.skipped), [str(p) for p in report.skipped]
    assert not Note.objects.filter(project=project, external_id="bad").exists()
    assert Note.objects.filter(project=project, external_id="good").exists()


def test_type_not_in_given_schema_is_refused_with_its_line(tmp_path, project):
    corpus = tmp_path / "corpus"
    write_doc(corpus, "good", GOOD_TXT, GOOD_ANN)
    write_doc(corpus, "bad", GOOD_TXT, "T1\tDrug 0 8\tWarfarin\nT2\tSymptom 16 24\tbleeding\n")
    (tmp_path / "annotation.conf").write_text(CONF)
    report = corpus_import(project=project, path=corpus, fmt="brat", schema_path=tmp_path / "annotation.conf")
    assert report.imported == 1
    assert any("bad.ann:2" in str(p) and "Symptom" in str(p) for p in report.skipped), report.summary()


def test_relation_with_argument_types_the_schema_forbids_is_refused(tmp_path, project):
    corpus = tmp_path / "corpus"
    ann = "T1\tDrug 0 8\tWarfarin\nT2\tAdverse-Effect 16 24\tbleeding\nR1\tAdverse-Effect Arg1:T2 Arg2:T1\n"
    write_doc(corpus, "bad", GOOD_TXT, ann)
    (tmp_path / "annotation.conf").write_text(CONF)
    report = corpus_import(project=project, path=corpus, fmt="brat", schema_path=tmp_path / "annotation.conf")
    assert report.imported == 0
    assert any("bad.ann:3" in str(p) for p in report.skipped), report.summary()
    assert Note.objects.count() == 0


def test_zip_with_path_traversal_is_refused_whole(tmp_path, project):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", GOOD_TXT)
        zf.writestr("ok.ann", GOOD_ANN)
        zf.writestr("../escape.txt", "x")
    with pytest.raises(Exception) as excinfo:
        corpus_import(project=project, path=archive, fmt="brat")
    assert "escape.txt" in str(excinfo.value)
    assert Note.objects.count() == 0


def test_zip_with_absolute_path_is_refused_whole(tmp_path, project):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", GOOD_TXT)
        zf.writestr("ok.ann", GOOD_ANN)
        zf.writestr("/etc/evil.txt", "x")
    with pytest.raises(Exception, match="evil.txt"):
        corpus_import(project=project, path=archive, fmt="brat")
    assert Note.objects.count() == 0


def test_zip_expanding_beyond_the_limit_is_refused(tmp_path, project):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.txt", "a" * 5_000_000)
        zf.writestr("big.ann", "")
    assert archive.stat().st_size < 100_000
    with pytest.raises(Exception, match="(?i)size|limit|larger|bytes"):
        corpus_import(project=project, path=archive, fmt="brat", max_bytes=1_000_000)
    assert Note.objects.count() == 0


def test_zip_corpus_imports_like_a_directory(tmp_path, project):
    archive = tmp_path / "corpus.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("docs/good.txt", GOOD_TXT)
        zf.writestr("docs/good.ann", GOOD_ANN)
    report = corpus_import(project=project, path=archive, fmt="brat")
    assert report.imported == 1
    assert Note.objects.get().text == GOOD_TXT


def test_note_text_cannot_be_changed_in_the_database(tmp_path, project):
    write_doc(tmp_path, "good", GOOD_TXT, GOOD_ANN)
    corpus_import(project=project, path=tmp_path, fmt="brat")
    with pytest.raises(DatabaseError), transaction.atomic():
        Note.objects.filter(project=project).update(text="something else")
    assert Note.objects.get().text == GOOD_TXT


def test_schema_is_inferred_when_none_is_given(tmp_path, project):
    write_doc(tmp_path, "good", GOOD_TXT, GOOD_ANN)
    report = corpus_import(project=project, path=tmp_path, fmt="brat")
    assert report.schema_source == "inferred from the data"
    project.refresh_from_db()
    names = {e["name"] for e in project.schema.definition["entity_types"]}
    assert names == {"Drug", "Adverse-Effect"}
    assert project.schema.inferred


def test_maccrobat_subset_imports_without_problems(corpus_dir, tmp_path, project):
    source = corpus_dir / "maccrobat2020"
    stems = sorted(p.stem for p in source.glob("*.ann"))[:5]
    for stem in stems:
        for ext in (".txt", ".ann"):
            shutil.copy(source / f"{stem}{ext}", tmp_path / f"{stem}{ext}")
    report = corpus_import(project=project, path=tmp_path, fmt="brat")
    assert report.skipped == [], report.summary()
    assert report.imported == 5 and report.events > 0


def test_each_broken_document_of_one_file_counts_as_one_skipped_document(tmp_path, project):
    # One JSONL file, three bad lines (two of them broken twice over) and one good line: three documents left out.
    lines = [
        '{"id": "ok", "text": "Fine.", "entities": [], "relations": []}',
        "not json",
        '{"id": "x1", "text": "Rash.", "entities": [{"id": "T1", "type": "AE", "spans": [[0, 9]], "text": "Rash."}, '
        '{"id": "T1", "type": "AE", "spans": [[0, 4]], "text": "Rash"}]}',
        '{"id": "ok", "text": "Fine.", "entities": [], "relations": []}',
    ]
    (tmp_path / "notes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = corpus_import(project=project, path=tmp_path / "notes.jsonl", fmt="jsonl")
    assert report.imported == 1
    assert report.skipped_documents == 3, report.summary()
    assert len(report.skipped) >= 3


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_imports_of_one_corpus_count_the_other_ones_notes_as_already_present(tmp_path):
    """The second import waits on the first one's uncommitted rows (the unique note id), then finds them
    committed: every note is "already present", none "skipped" or "refused by the database"."""
    import threading
    import time

    from django.db import connection, connections

    project = project_get_or_create(slug="concurrent")
    for i in range(30):
        write_doc(tmp_path / "corpus", f"n{i:02d}", GOOD_TXT, GOOD_ANN)
    first_wrote, release = threading.Event(), threading.Event()
    reports = {}

    def first() -> None:
        try:
            with transaction.atomic():  # holds its rows uncommitted until the second import is waiting
                reports["first"] = corpus_import(project=project, path=tmp_path / "corpus", fmt="brat")
                first_wrote.set()
                release.wait(30)
        finally:
            connections.close_all()

    def second() -> None:
        try:
            reports["second"] = corpus_import(project=project, path=tmp_path / "corpus", fmt="brat")
        finally:
            connections.close_all()

    a = threading.Thread(target=first)
    a.start()
    assert first_wrote.wait(30)
    b = threading.Thread(target=second)
    b.start()
    with connection.cursor() as cursor:  # wait until the second import blocks on the first one's rows
        for _ in range(300):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                break
            time.sleep(0.05)
    release.set()
    a.join(30)
    b.join(60)
    assert reports["first"].imported == 30
    second_report = reports["second"]
    assert (second_report.imported, second_report.already_present, second_report.skipped_documents) == (0, 30, 0), (
        second_report.summary()
    )
    assert "30 already present; 0 skipped" in second_report.summary()
    assert Note.objects.filter(project=project).count() == 30
