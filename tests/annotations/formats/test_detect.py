"""Format detection from a corpus's file names and the summary of an import's problems (no Django)."""

from __future__ import annotations

import zipfile

import pytest

from annotations.formats.detect import detect_format, problem_parse, problems_summarise
from annotations.formats.document import ParseProblem
from annotations.formats.registry import corpus_format_detect


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["corpus/a.txt", "corpus/a.ann", "corpus/annotation.conf"], "brat"),
        (["a.ann"], "brat"),
        (["notes/1.txt", "notes/2.txt"], "brat"),  # plain notes, nothing annotated yet
        (["ADE/DRUG-AE.rel", "ADE/DRUG-DOSE.rel", "ADE/ADE-NEG.txt"], "ade"),
        (["notes.jsonl"], "jsonl"),
        (["CDR_TrainingSet.pubtator"], "pubtator"),
        (["README.md", "data.csv"], None),
        ([], None),
        ([".hidden.ann", "x.csv"], None),
    ],
)
def test_the_file_names_of_a_corpus_say_its_format(names, expected):
    assert detect_format(names) == expected


def test_a_txt_whose_first_line_is_a_pubtator_title_is_pubtator_else_plain_notes():
    assert detect_format(["cdr.txt"], peek=lambda name: b"227508|t|Naloxone reverses\n") == "pubtator"
    assert detect_format(["note.txt"], peek=lambda name: b"Patient seen on ward 7.\n") == "brat"


def test_a_zip_of_ann_and_txt_files_is_detected_as_brat(tmp_path):
    path = tmp_path / "corpus.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("corpus/1.txt", "Rash after amoxicillin.")
        z.writestr("corpus/1.ann", "T1\tDrug 11 22\tamoxicillin\n")
    assert corpus_format_detect(path) == "brat"


def test_problems_are_counted_per_reason_and_each_unknown_type_is_listed_once():
    problems = [
        ParseProblem(f"doc{i}.ann", 3, f"T{i}: entity type Sign_symptom is not in the schema") for i in range(40)
    ]
    problems += [ParseProblem("doc1.ann", 4, "T9: entity type Lab_value is not in the schema")]
    problems += [ParseProblem("doc2.ann", 5, "R1: relation type MODIFY is not in the schema")]
    problems += [ParseProblem(f"doc{i}.ann", i, f"T{i}: span {i}-{i + 3} is outside the text") for i in range(1, 4)]
    summary = problems_summarise([str(p) for p in problems])  # as stored on the job: text
    assert summary.total == 45
    assert [(r.reason, r.count) for r in summary.reasons] == [
        ("entity type not in the schema", 41),
        ("ID: span N-N is outside the text", 3),
        ("relation type not in the schema", 1),
    ]
    assert [(u.kind, u.name, u.count) for u in summary.unknown_types] == [
        ("entity", "Lab_value", 1), ("entity", "Sign_symptom", 40), ("relation", "MODIFY", 1)
    ]
    assert "annotation.conf" in summary.advice and "extend the project's schema" in summary.advice
    assert problems_summarise(["x.ann:2: bad offset"]).advice == ""


def test_a_stored_problem_is_parsed_back_into_file_line_and_message():
    assert problem_parse("train/1.ann:12: T3: bad span") == ParseProblem("train/1.ann", 12, "T3: bad span")
    assert problem_parse("corpus.zip: not a valid zip file") == ParseProblem("corpus.zip", 0, "not a valid zip file")
