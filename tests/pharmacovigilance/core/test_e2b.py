"""Case reports as an ICH E2B(R3) batch, read back two independent ways:

- `e2br3` (PyPI 0.1.0, a read-only E2B(R3) parser written to the ICH implementation guide's data-element paths):
  it finds the batch, each message's ICSR, the patient, reactions (MedDRA code and version, seriousness, outcome),
  drugs (role, name, dosage, action taken) and the causality matrix (result, method and source per drug and
  reaction); it does not check the document against the ICH XSD (`e2br3.validate` needs the ICH schema set,
  which is not redistributable and not here), nor code lists or business rules;
- plain lxml XPath below, written from the implementation guide's Appendix I without the writer's helpers.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime

import e2br3
import pytest
from lxml import etree

from pharmacovigilance.core.e2b import case_report_e2b_problems, case_reports_e2b_xml, case_reports_write_e2b
from pharmacovigilance.core.report import CaseReaction, Coded, Seriousness

from .sample_reports import warfarin_bleed

H = {"h": "urn:hl7-org:v3", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
MEDDRA = "2.16.840.1.113883.6.163"
OPTIONS = {"batch_id": "BATCH-1", "sender_id": "SYNTH-HOSP", "receiver_id": "EVHUMAN",
           "created": datetime(2026, 3, 6, 12, 0, tzinfo=UTC)}


def test_e2br3_reads_back_drug_reaction_seriousness_and_causality():
    batch = e2br3.parse(case_reports_e2b_xml([warfarin_bleed()], **OPTIONS))
    assert (batch.batch_number, batch.sender, batch.receiver) == ("BATCH-1", "SYNTH-HOSP", "EVHUMAN")
    (icsr,) = batch.icsrs
    assert icsr.safety_report_id == "CASE-0001" and icsr.worldwide_case_id == "CASE-0001"
    assert icsr.report_type.code == "1"
    assert icsr.narrative.startswith("A 71-year-old woman on warfarin")
    assert icsr.primary_sources[0].qualification.code == "2"  # pharmacist
    assert icsr.patient.name.null_flavor.value == "MSK"  # never a name
    assert icsr.patient.sex.code == "2" and str(icsr.patient.age.value) == "71" and icsr.patient.age.unit == "a"

    bleed, anaemia = icsr.reactions
    assert (bleed.meddra.code, bleed.meddra.code_system, bleed.meddra.code_system_version) == ("10017955", MEDDRA, "27.0")
    assert bleed.native_term == "gastrointestinal bleeding" and bleed.start_date.raw == "20260304"
    assert bleed.hospitalisation is True and anaemia.hospitalisation is True
    for criterion in ("results_in_death", "life_threatening", "disabling", "congenital_anomaly",
                      "other_medically_important"):
        assert getattr(bleed, criterion).null_flavor.value == "NI"
    assert (bleed.outcome.code, anaemia.outcome.code) == ("1", "2")

    warfarin, metformin = icsr.drugs
    assert (warfarin.product_name, warfarin.role.code, metformin.role.code) == ("warfarin", "1", "2")
    assert warfarin.dosages[0].text == "5 mg, daily, for 12 days" and warfarin.dosages[0].route_text == "oral"
    assert warfarin.action_taken.code == "1"
    matrix = {icsr.reactions[r.reaction_index].native_term: [(a.method.original_text, a.result) for a in r.assessments]
              for r in warfarin.relatedness}
    assert matrix == {
        "gastrointestinal bleeding": [
            ("WHO-UMC system for standardised case causality assessment", "Probable/Likely"),
            ("Naranjo adverse drug reaction probability scale", "Probable (score 6)")],
        "anaemia": [("WHO-UMC system for standardised case causality assessment", "Possible")],
    }
    assert metformin.relatedness == []


def test_lxml_xpath_reads_the_same_case():
    root = etree.fromstring(case_reports_e2b_xml([warfarin_bleed()], **OPTIONS))
    assert etree.QName(root).localname == "MCCI_IN200100UV01"
    event = root.find("h:PORR_IN049016UV/h:controlActProcess/h:subject/h:investigationEvent", H)
    assert event.xpath("h:id[@root='2.16.840.1.113883.3.989.2.1.3.1']/@extension", namespaces=H) == ["CASE-0001"]
    role = event.find("h:component/h:adverseEventAssessment/h:subject1/h:primaryRole", H)
    assert role.xpath("h:player1/h:asIdentifiedEntity/h:id/@extension", namespaces=H) == ["synthetic-patient-3"]
    reactions = role.xpath("h:subjectOf2/h:observation[h:code/@code='29']", namespaces=H)
    assert [r.xpath("string(h:value/@code)", namespaces=H) for r in reactions] == ["10017955", "10002034"]
    hospitalised = reactions[0].xpath(
        "h:outboundRelationship2/h:observation[h:code/@code='33']/h:value/@value", namespaces=H)
    assert hospitalised == ["true"]
    drugs = role.xpath("h:subjectOf2/h:organizer[h:code/@code='4']/h:component/h:substanceAdministration",
                       namespaces=H)
    names = [d.xpath("string(h:consumable/h:instanceOfKind/h:kindOfProduct/h:name)", namespaces=H) for d in drugs]
    assert names == ["warfarin", "metformin"]
    warfarin_id = drugs[0].xpath("string(h:id/@root)", namespaces=H)
    bleed_id = reactions[0].xpath("string(h:id/@root)", namespaces=H)
    results = event.xpath(
        "h:component/h:adverseEventAssessment/h:component/h:causalityAssessment[h:code/@code='39']"
        f"[h:subject1/h:adverseEffectReference/h:id/@root='{bleed_id}']"
        f"[h:subject2/h:productUseReference/h:id/@root='{warfarin_id}']/h:value/text()", namespaces=H)
    assert results == ["Probable/Likely", "Probable (score 6)"]
    titles = event.xpath("h:reference/h:document[h:code/@code='1']/h:title/text()", namespaces=H)
    assert titles == ["note demo-001 (discharge summary)", "note demo-009 (progress note)"]


def test_a_batch_of_many_cases_streams_and_reads_back():
    out = io.BytesIO()
    count = case_reports_write_e2b((warfarin_bleed(f"CASE-{i:04d}") for i in range(250)), out, **OPTIONS)
    assert count == 250
    batch = e2br3.parse(out.getvalue())
    assert [i.safety_report_id for i in batch.icsrs] == [f"CASE-{i:04d}" for i in range(250)]


def test_hostile_text_cannot_break_the_document():
    hostile = "</text><injected/>\x00\x01\x1b ]]> <!ENTITY x SYSTEM 'file:///etc/passwd'> & \ud800 \ufffe"
    report = replace(warfarin_bleed(case_id="C\x07<1>"), narrative=hostile,
                     reactions=(CaseReaction("R1", Coded(hostile)),))
    batch = e2br3.parse(case_reports_e2b_xml([report], **{**OPTIONS, "batch_id": "B&<>\"'"}))
    assert batch.batch_number == "B&<>\"'"
    (icsr,) = batch.icsrs
    assert icsr.safety_report_id == "C\ufffd<1>"
    assert icsr.narrative == hostile.replace("\x00", "\ufffd").replace("\x01", "\ufffd").replace(
        "\x1b", "\ufffd").replace("\ud800", "\ufffd").replace("\ufffe", "\ufffd")
    assert icsr.reactions[0].meddra.null_flavor.value == "UNK"


def test_problems_a_receiver_would_refuse():
    assert case_report_e2b_problems(warfarin_bleed()) == []
    report = replace(warfarin_bleed(), reactions=(CaseReaction("R1", Coded("rash")),),
                     drugs=tuple(replace(d, role=warfarin_bleed().drugs[1].role) for d in warfarin_bleed().drugs))
    assert case_report_e2b_problems(report) == [
        "case CASE-0001: reaction R1 has no MedDRA code (E.i.2.1b)",
        "case CASE-0001: no suspect or interacting drug (G.k.1)",
    ]


@pytest.mark.parametrize("criteria", [frozenset(), frozenset(Seriousness)])
def test_seriousness_criteria_all_or_none(criteria):
    (icsr,) = e2br3.parse(case_reports_e2b_xml([replace(warfarin_bleed(), seriousness=criteria)], **OPTIONS)).icsrs
    values = [getattr(icsr.reactions[0], name) for name in ("results_in_death", "life_threatening", "hospitalisation",
                                                            "disabling", "congenital_anomaly",
                                                            "other_medically_important")]
    assert values == ([True] * 6 if criteria else [v for v in values if getattr(v, "null_flavor", None)])
