"""Case reports as ICH E2B(R3) ICSR XML: one HL7 v3 batch (MCCI_IN200100UV01) wrapping one message
(PORR_IN049016UV) per case, written a case at a time to a stream so that a batch of any size is written in
flat memory.

What each case carries (ICH E2B(R3) data elements, paths as in the ICH implementation guide's Appendix I):
- C.1.1 / C.1.8.1 the case identifier; C.1.2 creation, C.1.4 first received, C.1.5 most recent dates; C.1.3
  the report type; C.1.6.1 and C.1.6.1.r.1 the source notes as "documents held by sender" (their identifiers,
  never their text); C.2.r.4 the primary source's qualification; C.3.1/C.3.2 the sender;
- D.1 masked (never a name), D.1.1.3 the pseudonymous patient identifier as the hospital record number, D.2.1
  birth date, D.2.2 age at onset, D.5 sex;
- E.i per reaction: E.i.1.1a the reaction as reported, E.i.2.1 its MedDRA code (the LLT, or the PT when that is
  what was coded) with the MedDRA version, E.i.3.2a-f the ICH seriousness criteria (the case's, on each of its
  reactions), E.i.4 onset, E.i.7 outcome;
- G.k per drug: G.k.1 its role (suspect, concomitant, interacting), G.k.2.2 the name as reported, G.k.4.r the
  dose text (with the frequency and duration as written), dates and route, G.k.8 the action taken, and G.k.9.i.2.r the causality of each (drug, reaction)
  pair: the WHO-UMC category and the Naranjo category and score as assessment results (method and source
  named);
- H.1 the narrative.
Not written: dechallenge and rechallenge (G.k.9.i.4), medical history, tests, ATC codes (E2B(R3) has MPID and
PhPID, not ATC) and regional elements. `case_report_e2b_problems` lists what a receiver would refuse (a reaction
without a MedDRA code, a case without a suspect drug).

Text is escaped by the XML serializer, and characters XML 1.0 cannot hold (control characters, lone surrogates)
are replaced by U+FFFD, so hostile case text cannot break the document. Framework-free (standard library only).
"""

from __future__ import annotations

import io
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import IO

from .report import CaseReport, Seriousness, WhoUmcCategory

__all__ = ["case_reports_write_e2b", "case_reports_e2b_xml", "case_report_e2b_problems", "OID", "NS"]

NS = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_ICH = "2.16.840.1.113883.3.989.2.1"
OID = {
    "batch_id": f"{_ICH}.3.22",
    "batch_sender": f"{_ICH}.3.13",
    "batch_receiver": f"{_ICH}.3.14",
    "message_id": f"{_ICH}.3.1",  # also C.1.1, the sender's safety report unique identifier
    "message_sender": f"{_ICH}.3.11",
    "message_receiver": f"{_ICH}.3.12",
    "worldwide_id": f"{_ICH}.3.2",
    "hospital_record": f"{_ICH}.3.9",
    "observation": f"{_ICH}.1.19",
    "meddra": "2.16.840.1.113883.6.163",
    "sex": "1.0.5218",
    "interaction": "2.16.840.1.113883.1.6",
    "trigger": "2.16.840.1.113883.1.18",
}


def _list(number: int) -> str:
    """An ICH code list's OID."""
    return f"{_ICH}.1.{number}"


# E.i.3.2a-f: the seriousness criterion's observation code (ICH code list 19) and its name there.
_SERIOUSNESS = (
    (Seriousness.DEATH, "34", "resultsInDeath"),
    (Seriousness.LIFE_THREATENING, "21", "isLifeThreatening"),
    (Seriousness.HOSPITALISATION, "33", "requiresInpatientHospitalization"),
    (Seriousness.DISABILITY, "35", "resultsInPersistentOrSignificantDisability"),
    (Seriousness.CONGENITAL_ANOMALY, "12", "congenitalAnomalyBirthDefect"),
    (Seriousness.OTHER_MEDICALLY_IMPORTANT, "26", "otherMedicallyImportantCondition"),
)
_WHO_UMC_RESULT = {
    WhoUmcCategory.CERTAIN: "Certain",
    WhoUmcCategory.PROBABLE: "Probable/Likely",
    WhoUmcCategory.POSSIBLE: "Possible",
    WhoUmcCategory.UNLIKELY: "Unlikely",
    WhoUmcCategory.CONDITIONAL: "Conditional/Unclassified",
    WhoUmcCategory.UNASSESSABLE: "Unassessable/Unclassifiable",
}
WHO_UMC_METHOD = "WHO-UMC system for standardised case causality assessment"
NARANJO_METHOD = "Naranjo adverse drug reaction probability scale"
_QUALIFICATION = {"physician": "1", "pharmacist": "2", "other_hcp": "3", "lawyer": "4", "consumer": "5"}
_SEX = {"male": "1", "female": "2"}
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAMESPACE = uuid.UUID("0d3b1c7e-52a4-5d1e-8c8e-3f9a2b6d4e10")


def _clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _ts(value: date | datetime | None) -> str | None:
    """An HL7 TS: YYYYMMDD for a date, YYYYMMDDHHMMSS+ZZZZ for a time (a naive time is taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.strftime("%Y%m%d%H%M%S%z")
    return value.strftime("%Y%m%d")


def _el(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    clean = {k.replace("__", ":"): _clean(v) for k, v in attrs.items() if v is not None}
    element = ET.Element(tag, clean) if parent is None else ET.SubElement(parent, tag, clean)
    if text is not None:
        element.text = _clean(text)
    return element


def _code(parent: ET.Element, tag: str, code: str, code_list: int | str, display: str | None = None,
          **attrs) -> ET.Element:
    system = code_list if isinstance(code_list, str) else _list(code_list)
    return _el(parent, tag, code=code, codeSystem=system, displayName=display, **attrs)


def _device(parent: ET.Element, tag: str, type_code: str, root: str, extension: str) -> None:
    wrapper = _el(parent, tag, typeCode=type_code)
    device = _el(wrapper, "device", classCode="DEV", determinerCode="INSTANCE")
    _el(device, "id", root=root, extension=extension)


def _ref(case_id: str, kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{case_id}\x1f{kind}\x1f{key}"))


def _observation(parent: ET.Element, code: str, display: str) -> ET.Element:
    observation = _el(_el(parent, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN")
    _code(observation, "code", code, OID["observation"], display)
    return observation


def _patient(role: ET.Element, report: CaseReport) -> None:
    player = _el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    _el(player, "name", nullFlavor="MSK")  # D.1: never a name; the record number below identifies the patient
    if report.patient_sex in _SEX:
        _code(player, "administrativeGenderCode", _SEX[report.patient_sex], OID["sex"])
    else:
        _el(player, "administrativeGenderCode", nullFlavor="UNK")
    if report.patient_birth_date is not None:
        _el(player, "birthTime", value=_ts(report.patient_birth_date))
    identified = _el(player, "asIdentifiedEntity", classCode="IDENT")
    _el(identified, "id", root=OID["hospital_record"], extension=report.patient_id)  # D.1.1.3
    _code(identified, "code", "3", 4, "hospitalRecordNumber")
    if report.patient_age_years is not None:  # D.2.2
        age = _observation(role, "3", "age")
        _el(age, "value", **{"xsi__type": "PQ", "value": str(report.patient_age_years), "unit": "a"})


def _reactions(role: ET.Element, report: CaseReport) -> None:
    for reaction in report.reactions:
        observation = _observation(role, "29", "reaction")
        observation.insert(0, _el(None, "id", root=_ref(report.case_id, "reaction", reaction.key)))
        if reaction.onset is not None:  # E.i.4
            _el(_el(observation, "effectiveTime", xsi__type="IVL_TS"), "low", value=_ts(reaction.onset))
        term = reaction.term
        if term.system == "meddra" and term.code:  # E.i.2.1a/b
            value = _el(observation, "value", xsi__type="CE", code=term.code, codeSystem=OID["meddra"],
                        codeSystemVersion=term.version or None)
        else:
            value = _el(observation, "value", xsi__type="CE", nullFlavor="UNK")
        _el(value, "originalText", term.text)  # E.i.1.1a
        for criterion, code, name in _SERIOUSNESS:  # E.i.3.2a-f: "true", or NI (no information) when not met
            criterion_observation = _el(_el(observation, "outboundRelationship2", typeCode="PERT"), "observation",
                                        classCode="OBS", moodCode="EVN")
            _code(criterion_observation, "code", code, OID["observation"], name)
            if criterion in report.seriousness:
                _el(criterion_observation, "value", xsi__type="BL", value="true")
            else:
                _el(criterion_observation, "value", xsi__type="BL", nullFlavor="NI")
        outcome = _el(_el(observation, "outboundRelationship2", typeCode="PERT"), "observation", classCode="OBS",
                      moodCode="EVN")
        _code(outcome, "code", "27", OID["observation"], "outcome")  # E.i.7
        _code(outcome, "value", reaction.outcome.e2b_code, 11, xsi__type="CE")


def dosage_text(drug) -> str:
    """The dose as written with its frequency and duration (E2B(R3) G.k.4.r.8 and FHIR Dosage.text carry them as
    text: a note gives them in words, not as the structured numbers and units)."""
    return ", ".join(part for part in (drug.dose, drug.frequency, drug.duration) if part and part.strip())


def _drugs(role: ET.Element, report: CaseReport) -> None:
    if not report.drugs:
        return
    organizer = _el(_el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN")
    _code(organizer, "code", "4", 20, "drugInformation")
    for drug in report.drugs:
        administration = _el(_el(organizer, "component", typeCode="COMP"), "substanceAdministration",
                             classCode="SBADM", moodCode="EVN")
        _el(administration, "id", root=_ref(report.case_id, "drug", drug.key))
        product = _el(_el(_el(administration, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
                      "kindOfProduct", classCode="MMAT", determinerCode="KIND")
        _el(product, "name", drug.name.text)  # G.k.2.2
        dose_text = dosage_text(drug)
        if dose_text or drug.route or drug.start or drug.end:  # G.k.4.r
            dosage = _el(_el(administration, "outboundRelationship2", typeCode="COMP"), "substanceAdministration",
                         classCode="SBADM", moodCode="EVN")
            if dose_text:
                _el(dosage, "text", dose_text)  # G.k.4.r.8
            if drug.start or drug.end:  # G.k.4.r.4 / G.k.4.r.5
                period = _el(dosage, "effectiveTime", xsi__type="IVL_TS")
                if drug.start:
                    _el(period, "low", value=_ts(drug.start))
                if drug.end:
                    _el(period, "high", value=_ts(drug.end))
            if drug.route:
                _el(_el(dosage, "routeCode"), "originalText", drug.route)  # G.k.4.r.10.1
        action = _el(_el(administration, "inboundRelationship", typeCode="CAUS"), "act", classCode="ACT",
                     moodCode="EVN")
        _code(action, "code", drug.action_taken.e2b_code, 15)  # G.k.8


def _assessments(assessment_root: ET.Element, report: CaseReport) -> None:
    for drug in report.drugs:  # G.k.1: the drug's role
        causality = _el(_el(assessment_root, "component", typeCode="COMP"), "causalityAssessment", classCode="OBS",
                        moodCode="EVN")
        _code(causality, "code", "20", OID["observation"], "interventionCharacterization")
        _code(causality, "value", drug.role.e2b_code, 13, xsi__type="CE")
        product = _el(_el(causality, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM",
                      moodCode="EVN")
        _el(product, "id", root=_ref(report.case_id, "drug", drug.key))
    drugs = {d.key for d in report.drugs}
    reactions = {r.key for r in report.reactions}
    for item in report.causality:  # G.k.9.i.2.r: one assessment per method
        if item.drug_key not in drugs or item.reaction_key not in reactions:
            continue
        results = []
        if item.who_umc is not None:
            results.append((_WHO_UMC_RESULT[item.who_umc], WHO_UMC_METHOD))
        if item.naranjo_score is not None:
            results.append((f"{(item.naranjo_category or 'score').capitalize()} (score {item.naranjo_score})",
                            NARANJO_METHOD))
        for result, method in results:
            causality = _el(_el(assessment_root, "component", typeCode="COMP"), "causalityAssessment",
                            classCode="OBS", moodCode="EVN")
            _code(causality, "code", "39", OID["observation"], "causality")
            _el(causality, "value", result, xsi__type="ST")  # G.k.9.i.2.r.3
            _el(_el(causality, "methodCode"), "originalText", method)  # G.k.9.i.2.r.2
            author = _el(_el(causality, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
            _el(_el(author, "code"), "originalText", "Sender")  # G.k.9.i.2.r.1: the hospital's assessment
            reaction = _el(_el(causality, "subject1", typeCode="SUBJ"), "adverseEffectReference", classCode="OBS",
                           moodCode="EVN")
            _el(reaction, "id", root=_ref(report.case_id, "reaction", item.reaction_key))
            product = _el(_el(causality, "subject2", typeCode="SUBJ"), "productUseReference", classCode="SBADM",
                          moodCode="EVN")
            _el(product, "id", root=_ref(report.case_id, "drug", item.drug_key))


def _message(report: CaseReport, *, created: datetime, sender_id: str, receiver_id: str, report_type: str,
             sender_organisation: str) -> ET.Element:
    message = _el(None, "PORR_IN049016UV")
    _el(message, "id", root=OID["message_id"], extension=report.case_id)  # N.2.r.1
    _el(message, "creationTime", value=_ts(created))  # N.2.r.4
    _el(message, "interactionId", root=OID["interaction"], extension="PORR_IN049016UV")
    _el(message, "processingCode", code="P")
    _el(message, "processingModeCode", code="T")
    _el(message, "acceptAckCode", code="AL")
    _device(message, "receiver", "RCV", OID["message_receiver"], receiver_id)  # N.2.r.3
    _device(message, "sender", "SND", OID["message_sender"], sender_id)  # N.2.r.2
    act = _el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    _el(act, "code", code="PORR_TE049016UV", codeSystem=OID["trigger"])
    _el(act, "effectiveTime", value=_ts(created))  # C.1.2
    event = _el(_el(act, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG", moodCode="EVN")
    _el(event, "id", root=OID["message_id"], extension=report.case_id)  # C.1.1
    _el(event, "id", root=OID["worldwide_id"], extension=report.case_id)  # C.1.8.1
    _el(event, "code", code="PAT_ADV_EVNT", codeSystem="2.16.840.1.113883.5.4")
    if report.narrative:
        _el(event, "text", report.narrative)  # H.1
    _el(event, "statusCode", code="active")
    first = report.created_at or created
    _el(_el(event, "effectiveTime"), "low", value=_ts(first.date() if isinstance(first, datetime) else first))
    latest = report.updated_at or first
    _el(event, "availabilityTime", value=_ts(latest.date() if isinstance(latest, datetime) else latest))  # C.1.5
    for source in report.sources:  # C.1.6.1.r.1: documents held by sender, by identifier only
        document = _el(_el(event, "reference", typeCode="REFR"), "document", classCode="DOC", moodCode="EVN")
        _code(document, "code", "1", 27, "documentsHeldBySender")
        _el(document, "title", f"note {source.note_external_id}"
            + (f" ({source.note_type})" if source.note_type else ""))
    assessment = _el(_el(event, "component", typeCode="COMP"), "adverseEventAssessment", classCode="INVSTG",
                     moodCode="EVN")
    role = _el(_el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    _patient(role, report)
    _reactions(role, report)
    _drugs(role, report)
    _assessments(assessment, report)
    documents = _el(_el(event, "component", typeCode="COMP"), "observationEvent", classCode="OBS", moodCode="EVN")
    _code(documents, "code", "1", OID["observation"], "additionalDocumentsAvailable")  # C.1.6.1
    _el(documents, "value", xsi__type="BL", value="true" if report.sources else "false")
    source = _el(_el(event, "outboundRelationship", typeCode="SPRT"), "relatedInvestigation", classCode="INVSTG",
                 moodCode="EVN")
    _code(source, "code", "2", 22, "sourceReport")
    qualified = _el(_el(_el(_el(_el(_el(source, "subjectOf2", typeCode="SUBJ"), "controlActEvent", classCode="CACT",
                                        moodCode="EVN"), "author", typeCode="AUT"), "assignedEntity",
                            classCode="ASSIGNED"), "assignedPerson", classCode="PSN", determinerCode="INSTANCE"),
                    "asQualifiedEntity", classCode="QUAL")
    _code(qualified, "code", _QUALIFICATION.get(report.reporter_qualification, "3"), 6)  # C.2.r.4
    sender = _el(_el(_el(event, "subjectOf1", typeCode="SUBJ"), "controlActEvent", classCode="CACT", moodCode="EVN"),
                 "author", typeCode="AUT")
    sender_entity = _el(sender, "assignedEntity", classCode="ASSIGNED")
    _code(sender_entity, "code", "3", 7)  # C.3.1: a health professional (the hospital's safety team)
    organisation = report.sender_organisation or sender_organisation
    if organisation:
        _el(_el(sender_entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE"), "name",
            organisation)  # C.3.2
    characteristic = _el(_el(event, "subjectOf2", typeCode="SUBJ"), "investigationCharacteristic", classCode="OBS",
                         moodCode="EVN")
    _code(characteristic, "code", "1", 23, "ichReportType")
    _code(characteristic, "value", report_type, 2, xsi__type="CE")  # C.1.3
    return message


def case_reports_write_e2b(
    reports: Iterable[CaseReport], out: IO[bytes], *, batch_id: str, sender_id: str, receiver_id: str,
    created: datetime | None = None, report_type: str = "1", sender_organisation: str = "",
    on_error: Callable[[CaseReport, Exception], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write `reports` as one E2B(R3) batch to the binary stream `out`, a case at a time.

    Args: `batch_id` (N.1.2), `sender_id` and `receiver_id` (N.1.3/N.1.4, N.2.r.2/N.2.r.3), `created` the batch's
    time (default now), `report_type` (C.1.3: 1 spontaneous, 2 study, 3 other, 4 not available),
    `sender_organisation` (C.3.2, when a case does not name one); `on_error(report, exc)`, when given, receives a
    case whose message could not be built, which is left out (else the error propagates); `progress(n)` is called
    with the number of cases written so far. Result: the number of cases written.
    """
    created = created or datetime.now(UTC)
    out.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f'<MCCI_IN200100UV01 xmlns="{NS}" xmlns:xsi="{XSI}" ITSVersion="XML_1.0">'.encode())
    header = _el(None, "header")
    _el(header, "id", root=OID["batch_id"], extension=batch_id)  # N.1.2
    _el(header, "creationTime", value=_ts(created))  # N.1.5
    _el(header, "responseModeCode", code="D")
    _el(header, "interactionId", root=OID["interaction"], extension="MCCI_IN200100UV01")
    _code(header, "name", "1", 1, "ichicsr")  # N.1.1
    for child in header:
        out.write(ET.tostring(child, encoding="unicode").encode("utf-8"))
    count = 0
    for report in reports:
        try:  # the whole message is built before any of it is written: a failing case leaves no trace
            message = ET.tostring(_message(report, created=created, sender_id=sender_id, receiver_id=receiver_id,
                                           report_type=report_type, sender_organisation=sender_organisation),
                                  encoding="unicode").encode("utf-8")
        except Exception as exc:
            if on_error is None:
                raise
            on_error(report, exc)
            continue
        out.write(message)
        count += 1
        if progress is not None:
            progress(count)
    trailer = _el(None, "trailer")
    _device(trailer, "receiver", "RCV", OID["batch_receiver"], receiver_id)  # N.1.4
    _device(trailer, "sender", "SND", OID["batch_sender"], sender_id)  # N.1.3
    for child in trailer:
        out.write(ET.tostring(child, encoding="unicode").encode("utf-8"))
    out.write(b"</MCCI_IN200100UV01>\n")
    return count


def case_reports_e2b_xml(reports: Iterable[CaseReport], **options) -> bytes:
    """`case_reports_write_e2b` into memory: the batch's UTF-8 bytes."""
    buffer = io.BytesIO()
    case_reports_write_e2b(reports, buffer, **options)
    return buffer.getvalue()


def case_report_e2b_problems(report: CaseReport) -> list[str]:
    """What an E2B(R3) receiver would refuse in this case (its messages name the case and the element)."""
    problems = []
    if not report.reactions:
        problems.append(f"case {report.case_id}: no reaction (E.i is required)")
    for reaction in report.reactions:
        if reaction.term.system != "meddra" or not reaction.term.code:
            problems.append(f"case {report.case_id}: reaction {reaction.key} has no MedDRA code (E.i.2.1b)")
        elif not reaction.term.version:
            problems.append(f"case {report.case_id}: reaction {reaction.key} has no MedDRA version (E.i.2.1a)")
    if not any(d.role.e2b_code in ("1", "3") for d in report.drugs):
        problems.append(f"case {report.case_id}: no suspect or interacting drug (G.k.1)")
    return problems
