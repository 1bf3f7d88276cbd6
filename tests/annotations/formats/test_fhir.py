"""The `fhir` import format: FHIR R4 DocumentReferences (a Bundle or NDJSON, with Patients and Encounters) read
into notes with their patient, time, type and unit; every bad resource is reported by its position (Bundle
entry or NDJSON line) and reason while the others are read; hostile input never crashes the reader."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from annotations.formats import registry
from annotations.formats.fhir import NOTE_SYSTEM, PATIENT_SYSTEM, read_fhir

FHIR = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "fhir"


def _b64(text: str, encoding: str = "utf-8") -> str:
    return base64.b64encode(text.encode(encoding)).decode("ascii")


def document_reference(i: int, *, patient: str = "Patient/p1", text: str | None = None, **changes) -> dict:
    text = text if text is not None else f"Note {i}: rash after amoxicillin."
    resource = {
        "resourceType": "DocumentReference", "id": f"d{i}", "status": "current",
        "identifier": [{"system": "http://hospital.example/notes", "value": f"note-{i:04d}"}],
        "subject": {"reference": patient}, "date": f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:15:00+00:00",
        "type": {"text": "progress note"},
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": _b64(text)}}],
    }
    resource.update(changes)
    return resource


def bundle(*resources, full_urls: dict | None = None) -> dict:
    full_urls = full_urls or {}
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": r, **({"fullUrl": full_urls[i]} if i in full_urls else {})}
                      for i, r in enumerate(resources)]}


def write(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def read(path: Path, **limits) -> tuple[dict, list[str]]:
    notes, problems = {}, []
    for result in read_fhir(path, **limits):
        if result.ok:
            notes[result.document.id] = result.document
        problems += [str(p) for p in result.problems]
    return notes, problems


def test_a_bundle_gives_notes_with_patient_time_type_and_unit():
    notes, problems = read(FHIR / "bundle.json")
    assert problems == []
    assert set(notes) == {"note-0001", "note-0002"}
    first, second = notes["note-0001"], notes["note-0002"]
    assert first.text == "SYNTHETIC. Warfarin 5 mg daily. Melaena on day 3; warfarin stopped."
    # The Patient's logical id, never its medical record number or name.
    assert first.metadata["patient"] == "pat-17"
    assert "MRN-0042" not in json.dumps(first.metadata) and "Doe" not in json.dumps(first.metadata)
    assert first.metadata["timestamp"] == "2026-03-04T09:30:00+00:00"
    assert first.metadata["note_type"] == "Discharge summary"
    assert first.metadata["unit"] == "Cardiology"  # the encounter's serviceProvider, an Organization in the Bundle
    # ISO-8859-1 text; the subject by fullUrl; a date-only context period; the practice setting as the unit.
    assert second.text == "SYNTHETIC. Überwachung: Hautausschlag nach Amoxicillin."
    assert second.metadata["patient"] == "pat-18"
    assert second.metadata["timestamp"] == "2026-03-05T00:00:00+00:00"
    assert (second.metadata["note_type"], second.metadata["unit"]) == ("progress note", "Dermatology")


def test_each_bad_entry_is_reported_by_position_and_reason_and_the_others_are_read():
    notes, problems = read(FHIR / "broken_entries.json")
    assert set(notes) == {"note-0001"}
    assert problems == [
        "broken_entries.json: entry[2] DocumentReference/bad-b64: content[0].attachment.data is not valid base64",
        "broken_entries.json: entry[3] DocumentReference/url-only: content[0].attachment gives only a url: the "
        "text must be inline (data); nothing is fetched",
        "broken_entries.json: entry[4] DocumentReference/pdf: no text/plain attachment (found: application/pdf)",
        "broken_entries.json: entry[5] the resource must be a JSON object",
        "broken_entries.json: entry[6] DocumentReference/no-tz: date has a time but no time zone (FHIR requires one)",
        "broken_entries.json: entry[7] resourceType is missing",
        "broken_entries.json: entry[8] DocumentReference/latin-in-utf8: content[0].attachment.data is not valid "
        "utf-8: byte 0xb0 at byte offset 9",
        "broken_entries.json: entry[9] DocumentReference/dangling: subject "
        "'urn:uuid:00000000-0000-4000-8000-000000000000' is not a Patient in this input",
        "broken_entries.json: entry[10] DocumentReference/error: its status is entered-in-error: not imported",
        "broken_entries.json: entry[11] DocumentReference/zlib: charset 'zlib_codec' is not a text encoding this "
        "import reads",
    ]


@pytest.mark.parametrize("zipped", [False, True])
def test_bulk_ndjson_files_with_a_broken_line(tmp_path, zipped):
    path = FHIR / "bulk"
    if zipped:
        path = tmp_path / "export.zip"
        with zipfile.ZipFile(path, "w") as z:
            for f in sorted((FHIR / "bulk").iterdir()):
                z.write(f, f"export/{f.name}")
    notes, problems = read(path)
    assert set(notes) == {"note-0001", "note-0002"}
    assert notes["note-0002"].metadata["patient"] == "pat-18"
    assert problems == ["DocumentReference.ndjson:2: invalid JSON: Unterminated string starting at at column 45"]


def test_a_hundred_document_references_round_trip(tmp_path):
    patients = [{"resourceType": "Patient", "id": f"p{k}"} for k in range(7)]
    docs = [document_reference(i, patient=f"Patient/p{i % 7}", text=f"Note {i}: INR {i / 10:.1f}.")
            for i in range(100)]
    notes, problems = read(write(tmp_path, "notes.json", bundle(*patients, *docs)))
    assert problems == [] and len(notes) == 100
    for i in range(100):
        note = notes[f"note-{i:04d}"]
        assert note.text == f"Note {i}: INR {i / 10:.1f}."
        assert note.metadata["patient"] == f"p{i % 7}"
        assert note.metadata["timestamp"] == f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:15:00+00:00"


def test_the_apps_own_export_reads_back_with_its_note_ids_and_patient(tmp_path):
    from pharmacovigilance.core.fhir import SYSTEMS, case_report_fhir_json
    from tests.pharmacovigilance.core.sample_reports import warfarin_bleed

    assert (SYSTEMS["note"], SYSTEMS["patient"]) == (NOTE_SYSTEM, PATIENT_SYSTEM)
    texts = {"demo-001": "Melaena on warfarin.", "demo-009": "Hb 7.9 g/dL."}
    exported = case_report_fhir_json(warfarin_bleed(), include_note_text=True, note_texts=texts)
    notes, problems = read(write(tmp_path, "case.json", exported))
    assert problems == []
    assert {k: (n.text, n.metadata["patient"], n.metadata["timestamp"]) for k, n in notes.items()} == {
        "demo-001": ("Melaena on warfarin.", "synthetic-patient-3", "2026-03-04T08:00:00+00:00"),
        "demo-009": ("Hb 7.9 g/dL.", "synthetic-patient-3", "2026-03-05T08:00:00+00:00"),
    }


def test_detected_as_fhir_and_registered():
    assert registry.corpus_format_detect(FHIR / "bundle.json") == "fhir"
    assert registry.corpus_format_detect(FHIR / "bulk") == "fhir"
    assert "fhir" in registry.READERS


def _one_problem(tmp_path, resource, **limits) -> str:
    notes, problems = read(write(tmp_path, "one.json", bundle(resource)), **limits)
    assert notes == {} and len(problems) == 1, problems
    return problems[0]


TEXT = "Fever after vancomycin."
HOSTILE = [
    ({"content": "x"}, "content must be a list"),
    ({"content": [{"attachment": "x"}]}, "content[0].attachment must be an object"),
    ({"content": []}, "content is missing"),
    ({"subject": "Patient/p1"}, "subject must be a Reference object"),
    ({"subject": {"reference": 5}}, "subject.reference must be a string"),
    ({"date": 20260301}, "date must be a string"),
    ({"date": "yesterday"}, "date is not a FHIR date or time"),
    ({"date": "2026-02-30T10:00:00Z"}, "date is not a valid date or time"),
    ({"identifier": [{"value": "x" * 301}]}, "longer than 300 characters"),
    ({"identifier": [{"value": "a\nb"}]}, "holds control characters"),
    ({"identifier": "note-1"}, "identifier must be a list"),
    ({"identifier": [], "id": None}, "no identifier and no id"),
    ({"type": ["x"]}, "type must be an object"),
    ({"content": [{"attachment": {"contentType": "text/plain", "data": _b64("a\x00b")}}]}, "NUL characters"),
    ({"content": [{"attachment": {"contentType": "text/plain", "data": _b64("   ")}}]}, "data is empty"),
    ({"content": [{"attachment": {"contentType": "text/plain", "data": _b64(TEXT), "size": 3}}]},
     "size says 3 bytes, the data holds 23"),
    ({"content": [{"attachment": {"contentType": "text/plain", "data": _b64(TEXT), "hash": "AAAA"}}]},
     "hash is not the SHA-1"),
    ({"content": [{"attachment": {"contentType": "text/plain; charset=klingon", "data": _b64(TEXT)}}]},
     "unknown charset 'klingon'"),
    ({"content": [{"attachment": {"contentType": "text/plain; charset=base64", "data": _b64(TEXT)}}]},
     "not a text encoding"),
    ({"content": [{"attachment": {"contentType": "text/plain", "data": 12}}]}, "data must be a string"),
    ({"content": [{"attachment": {"contentType": "text/plain"}}]}, "has no data"),
]


@pytest.mark.parametrize("changes,reason", HOSTILE, ids=[r for _, r in HOSTILE])
def test_hostile_document_references_are_refused_with_their_reason(tmp_path, changes, reason):
    resource = {k: v for k, v in {**document_reference(1, text=TEXT), **changes}.items() if v is not None}
    assert reason in _one_problem(tmp_path, resource)


def test_an_attachment_over_the_per_note_limit_is_refused_before_decoding(tmp_path):
    problem = _one_problem(tmp_path, document_reference(1, text="x" * 5000), max_member_bytes=1000)
    assert "larger than the per-note limit of 1000 bytes" in problem


def test_size_hash_bom_and_other_charsets_that_are_right_are_read(tmp_path):
    raw = "\ufeffHämatom unter Heparin.".encode("utf-16")
    resource = document_reference(1, content=[{"attachment": {
        "contentType": "text/plain;charset=UTF-16", "data": base64.b64encode(raw).decode(), "size": len(raw),
        "hash": base64.b64encode(hashlib.sha1(raw).digest()).decode()}}])
    notes, problems = read(write(tmp_path, "one.json", bundle(resource)))
    assert problems == [] and notes["note-0001"].text == "Hämatom unter Heparin."


def test_whole_file_problems(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    cases = {
        "deep.json": deep,
        "array.json": "[1, 2]",
        "latin.json": "{\"resourceType\": \"Bundle\", \"x\": \"\xe9\"}".encode("latin-1"),
        "broken.json": '{"resourceType": "Bundle", "entry": [',
        "entries.json": {"resourceType": "Bundle", "entry": {"resource": {}}},
    }
    expected = {
        "deep.json": "the JSON is nested too deeply",
        "array.json": "not a FHIR resource",
        "latin.json": "not valid UTF-8 at byte offset",
        "broken.json": "invalid JSON",
        "entries.json": "Bundle.entry must be a list",
    }
    for name, content in cases.items():
        notes, problems = read(write(tmp_path, name, content))
        assert notes == {} and len(problems) == 1 and expected[name] in problems[0], (name, problems)


def test_ndjson_hostile_lines_are_reported_by_line(tmp_path):
    lines = [
        json.dumps(document_reference(1)),
        "[" * 50_000 + "]" * 50_000,
        "\xff not utf-8",
        json.dumps({"resourceType": "Bundle", "entry": []}),  # not a note: passed over
        json.dumps({"resourceType": "Observation", "id": "o1"}),
        json.dumps({"no": "type"}),
        json.dumps(document_reference(2)),
    ]
    data = "\n".join(lines).encode("utf-8").replace("\xff".encode(), b"\xff")
    notes, problems = read(write(tmp_path, "DocumentReference.ndjson", data))
    assert set(notes) == {"note-0001", "note-0002"}
    assert problems == [
        "DocumentReference.ndjson:2: the JSON is nested too deeply",
        "DocumentReference.ndjson:3: not valid UTF-8 at byte offset 0",
        "DocumentReference.ndjson:6: resourceType is missing",
    ]


def test_a_nested_bundle_and_a_malformed_patient_are_reported(tmp_path):
    inner = bundle(document_reference(9))
    patient = {"resourceType": "Patient", "id": "p1", "identifier": "not a list"}
    notes, problems = read(write(tmp_path, "b.json", bundle(patient, inner, document_reference(1))))
    assert notes == {}
    assert problems == [
        "b.json: entry[0] Patient: identifier must be a list",
        "b.json: entry[1] a Bundle inside a Bundle is not read",
        "b.json: entry[2] DocumentReference/d1: its subject Patient/p1 is malformed (see b.json entry[0])",
    ]


def test_a_subject_outside_the_input_is_named_by_its_reference(tmp_path):
    notes, problems = read(write(tmp_path, "b.json", bundle(
        document_reference(1, patient="https://ehr.example/fhir/Patient/abc-9"),
        document_reference(2, subject={"identifier": {"system": PATIENT_SYSTEM, "value": "pseudo-7"}}),
        document_reference(3, subject=None))))
    assert problems == []
    assert notes["note-0001"].metadata["patient"] == "abc-9"
    assert notes["note-0002"].metadata["patient"] == "pseudo-7"
    assert "patient" not in notes["note-0003"].metadata


def test_a_bundle_over_the_whole_file_limit_is_refused(tmp_path, monkeypatch):
    from annotations.formats import fhir

    monkeypatch.setattr(fhir, "BUNDLE_MAX_BYTES", 1000)
    notes, problems = read(write(tmp_path, "big.json", bundle(*(document_reference(i) for i in range(20)))))
    assert notes == {} and len(problems) == 1 and "send it as NDJSON" in problems[0]
