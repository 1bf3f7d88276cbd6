"""A case report as a FHIR R4 Bundle: it validates with fhir.resources (R4B classes), and reading it back with
those classes gives the case's patient, drugs, reactions, seriousness, outcome and causality; the note text
goes in only when asked for."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from fhir.resources.R4B.bundle import Bundle

from pharmacovigilance.core.fhir import (
    EXTENSION,
    SYSTEMS,
    FhirError,
    case_report_fhir_json,
    case_report_to_fhir,
    fhir_bundle_validate,
)
from pharmacovigilance.core.report import CaseReaction, Coded, Outcome, Seriousness

from .sample_reports import warfarin_bleed


def _read(report, **options) -> tuple[Bundle, dict]:
    """The Bundle parsed back by fhir.resources, and its resources by type."""
    bundle = Bundle.model_validate_json(case_report_fhir_json(report, **options))
    by_type: dict[str, list] = {}
    for entry in bundle.entry:
        assert entry.fullUrl == f"urn:uuid:{entry.resource.id}"
        by_type.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
    return bundle, by_type


def _ext(resource, name):
    return [e for e in resource.extension or [] if e.url == EXTENSION + name]


def test_bundle_validates_and_round_trips_the_case():
    report = warfarin_bleed()
    bundle, found = _read(report)
    assert bundle.type == "collection"
    assert (bundle.identifier.system, bundle.identifier.value) == (SYSTEMS["case"], "CASE-0001")
    assert {k: len(v) for k, v in found.items()} == {
        "Patient": 1, "Medication": 2, "MedicationStatement": 2, "DocumentReference": 2, "AdverseEvent": 2}

    (patient,) = found["Patient"]
    assert [(i.system, i.value) for i in patient.identifier] == [(SYSTEMS["patient"], "synthetic-patient-3")]
    assert patient.name is None and patient.address is None and patient.telecom is None
    assert patient.gender == "female" and str(patient.birthDate) == "1955-02-01"

    medications = {m.id: m for m in found["Medication"]}
    statements = {f"urn:uuid:{s.id}": s for s in found["MedicationStatement"]}
    warfarin = next(s for s in found["MedicationStatement"] if s.status == "stopped")
    medication = medications[warfarin.medicationReference.reference.removeprefix("urn:uuid:")]
    assert medication.code.text == "warfarin"
    assert [(c.system, c.code) for c in medication.code.coding] == [(SYSTEMS["atc"], "B01AA03")]
    assert warfarin.dosage[0].text == "5 mg, daily, for 12 days" and warfarin.dosage[0].route.text == "oral"
    assert (str(warfarin.effectivePeriod.start), str(warfarin.effectivePeriod.end)) == ("2026-02-20", "2026-03-04")
    assert _ext(warfarin, "drug-role")[0].valueCoding.code == "1"
    assert _ext(warfarin, "action-taken")[0].valueCoding.code == "1"
    assert _ext(warfarin, "dechallenge")[0].valueCode == "positive"
    assert _ext(warfarin, "rechallenge") == []  # unknown: left out

    events = {e.identifier.value: e for e in found["AdverseEvent"]}
    assert set(events) == {"CASE-0001/R1", "CASE-0001/R2"}
    bleed = events["CASE-0001/R1"]
    assert bleed.actuality == "actual" and bleed.event.text == "gastrointestinal bleeding"
    assert [(c.system, c.code, c.version) for c in bleed.event.coding] == [(SYSTEMS["meddra"], "10017955", "27.0")]
    assert str(bleed.date) == "2026-03-04"
    assert bleed.subject.reference == f"urn:uuid:{patient.id}"
    assert bleed.seriousness.coding[0].code == "serious"
    assert [e.valueCoding.code for e in _ext(bleed, "seriousness-criterion")] == ["hospitalisation"]
    assert bleed.outcome.coding[0].code == "resolved"
    assert events["CASE-0001/R2"].outcome.coding[0].code == "recovering"
    assert _ext(bleed, "case-narrative")[0].valueString.startswith("A 71-year-old woman")
    assert _ext(bleed, "age-at-onset")[0].valueAge.value == 71

    # One suspect entity: the suspect drug; the concomitant one is in the Bundle but not a suspect.
    (suspect,) = bleed.suspectEntity
    assert statements[suspect.instance.reference] is warfarin
    who, naranjo = suspect.causality
    assert (who.assessment.coding[0].system, who.assessment.coding[0].code) == (SYSTEMS["causality"], "Probably-Likely")
    assert who.method.text.startswith("WHO-UMC")
    assert naranjo.productRelatedness == "Naranjo score 6" and naranjo.assessment.text == "probable"
    assert naranjo.method.coding[0].code == "ProbabilityScale"
    (anaemia_suspect,) = events["CASE-0001/R2"].suspectEntity
    assert [c.assessment.coding[0].code for c in anaemia_suspect.causality] == ["Possible"]

    documents = {f"urn:uuid:{d.id}": d for d in found["DocumentReference"]}
    assert {r.reference for r in bleed.referenceDocument} == set(documents)
    note = next(d for d in documents.values() if d.identifier[0].value == "demo-001")
    assert note.identifier[0].system == SYSTEMS["note"] and note.type.text == "discharge summary"
    assert note.date.isoformat() == "2026-03-04T08:00:00+00:00"


def test_note_text_is_left_out_unless_asked_for():
    report = warfarin_bleed()
    texts = {"demo-001": "Melaena on warfarin. Stöpped.", "demo-009": "Hb 7.9."}
    without = case_report_fhir_json(report, note_texts=texts)
    assert "Melaena on warfarin" not in without and base64.b64encode(texts["demo-009"].encode()).decode() not in without
    assert all(d.content[0].attachment.data is None for d in _read(report, note_texts=texts)[1]["DocumentReference"])
    _, found = _read(report, include_note_text=True, note_texts=texts)
    # fhir.resources hands base64Binary back decoded.
    decoded = {d.identifier[0].value: d.content[0].attachment.data.decode("utf-8") for d in found["DocumentReference"]}
    assert decoded == texts


def test_same_case_gives_the_same_bundle():
    assert case_report_fhir_json(warfarin_bleed()) == case_report_fhir_json(warfarin_bleed())
    assert case_report_fhir_json(warfarin_bleed()) != case_report_fhir_json(warfarin_bleed("CASE-0002"))


def test_uncoded_non_serious_case_with_hostile_text_validates():
    report = replace(
        warfarin_bleed(), seriousness=frozenset(), narrative="<script>alert(1)</script>\x00\x07 ]]> &amp;",
        patient_sex="", patient_age_years=None, patient_birth_date=None, causality=(),
        reactions=(CaseReaction("R1", Coded("rash\x1b[31m"), outcome=Outcome.UNKNOWN),),
    )
    bundle, found = _read(report)
    (event,) = found["AdverseEvent"]
    assert event.seriousness.coding[0].code == "non-serious"
    assert event.event.coding is None and event.event.text == "rash\ufffd[31m"
    assert _ext(event, "case-narrative")[0].valueString == "<script>alert(1)</script>\ufffd\ufffd ]]> &amp;"
    assert found["Patient"][0].gender == "unknown"


def test_fatal_outcome_and_all_criteria():
    report = replace(warfarin_bleed(), seriousness=frozenset(Seriousness),
                     reactions=(replace(warfarin_bleed().reactions[0], outcome=Outcome.FATAL),))
    (event,) = _read(report)[1]["AdverseEvent"]
    assert event.outcome.coding[0].code == "fatal"
    assert len(_ext(event, "seriousness-criterion")) == 6


def test_a_case_without_identifiers_is_refused():
    with pytest.raises(FhirError):
        case_report_to_fhir(replace(warfarin_bleed(), patient_id="  "))


@pytest.mark.parametrize("mutate", [
    lambda b: b["entry"][0]["resource"].update(name=[{"text": 5}]),
    lambda b: b["entry"][-1]["resource"].update(bogus=1),
    lambda b: b["entry"][-1]["resource"].pop("subject"),
    lambda b: b["entry"][0]["resource"].update(resourceType="Nonsense"),
])
def test_validation_catches_broken_bundles(mutate):
    bundle = json.loads(case_report_fhir_json(warfarin_bleed()))
    fhir_bundle_validate(bundle)
    mutate(bundle)
    with pytest.raises(FhirError):
        fhir_bundle_validate(bundle)
