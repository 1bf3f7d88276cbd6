"""A case report as a FHIR R4 Bundle: one AdverseEvent per reaction, with a suspect entity per suspect (or
interacting) drug carrying its causality assessments (WHO-UMC, Naranjo), the seriousness and the outcome; the
Patient by its pseudonymous identifier only (no name, no address); a Medication and a MedicationStatement per
drug (dose, route, dates, the drug's role and the action taken as extensions); and the source notes as
DocumentReferences named by their identifier. The note text goes in only when the caller asks for it
(`include_note_text`) and supplies it.

Release: the `fhir.resources` R4B classes (FHIR 4.3.0). R4B changed no element of the resources used here
from R4 (4.0.1), so the Bundle is an R4 one; fhir.resources no longer ships a 4.0.1 package for pydantic 2.
Every Bundle is validated by fhir.resources before it is returned (`FhirError` says what is wrong).

Codes: MedDRA (https://www.meddra.org: the LLT and, when known, its PT), ATC (http://www.whocc.no/atc), the
HL7 terminology's adverse-event seriousness, outcome, causality assessment and method code systems. What FHIR
R4 has no element for (the ICH seriousness criteria, the drug's E2B role, action taken, de- and rechallenge,
the narrative, the age at onset) travels in extensions under `EXTENSION`; an unknown action taken, dechallenge or
rechallenge is left out.

Framework-free: the export job, the benchmark and the tests call it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from .e2b import dosage_text
from .report import (
    ActionTaken,
    CaseDrug,
    CaseReaction,
    CaseReport,
    CausalityAssessment,
    ChallengeResult,
    DrugRole,
    Outcome,
    WhoUmcCategory,
)

__all__ = ["FhirError", "case_report_to_fhir", "case_report_fhir_json", "fhir_bundle_validate", "SYSTEMS",
           "EXTENSION", "FHIR_RELEASE"]

FHIR_RELEASE = "4.3.0"  # R4B (see the module docstring)

SYSTEMS = {
    "case": "urn:ade-review:case",
    "reaction": "urn:ade-review:case-reaction",
    "patient": "urn:ade-review:patient",
    "note": "urn:ade-review:note",
    "meddra": "https://www.meddra.org",
    "atc": "http://www.whocc.no/atc",
    "snomed": "http://snomed.info/sct",
    "seriousness": "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
    "outcome": "http://terminology.hl7.org/CodeSystem/adverse-event-outcome",
    "causality": "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess",
    "causality_method": "http://terminology.hl7.org/CodeSystem/adverse-event-causality-method",
    "ich_seriousness": "urn:ade-review:ich-seriousness-criterion",
    "e2b_role": "urn:oid:2.16.840.1.113883.3.989.2.1.1.13",
    "e2b_action": "urn:oid:2.16.840.1.113883.3.989.2.1.1.15",
}
EXTENSION = "urn:ade-review:fhir:extension:"
# Deterministic resource ids: the same case exports to the same Bundle, so re-exports diff cleanly.
_NAMESPACE = uuid.UUID("6f1f8a8e-2d7b-5b8e-9f53-5a0c3b1d7e21")

_OUTCOME = {
    Outcome.RECOVERED: ("resolved", "Resolved"),
    Outcome.RECOVERING: ("recovering", "Recovering"),
    Outcome.NOT_RECOVERED: ("ongoing", "Ongoing"),
    Outcome.RECOVERED_WITH_SEQUELAE: ("resolvedWithSequelae", "Resolved with Sequelae"),
    Outcome.FATAL: ("fatal", "Fatal"),
    Outcome.UNKNOWN: ("unknown", "Unknown"),
}
_WHO_UMC = {
    WhoUmcCategory.CERTAIN: ("Certain", "Certain"),
    WhoUmcCategory.PROBABLE: ("Probably-Likely", "Probably/Likely"),
    WhoUmcCategory.POSSIBLE: ("Possible", "Possible"),
    WhoUmcCategory.UNLIKELY: ("Unlikely", "Unlikely"),
    WhoUmcCategory.CONDITIONAL: ("Conditional-Classified", "Conditional/Classified"),
    WhoUmcCategory.UNASSESSABLE: ("Unassessable-Unclassifiable", "Unassessable/Unclassifiable"),
}
_TERM_SYSTEM = {"meddra": SYSTEMS["meddra"], "atc": SYSTEMS["atc"], "snomed": SYSTEMS["snomed"]}
# FHIR strings hold no control characters but tab, CR and LF (and no lone surrogates); hostile text is cleaned.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class FhirError(ValueError):
    """The Bundle did not validate against the FHIR resource definitions; the message says where."""


def _text(value: str | None) -> str | None:
    """A FHIR string, or None when there is nothing to say (FHIR forbids empty strings)."""
    if value is None:
        return None
    cleaned = _CONTROL.sub("\ufffd", str(value)).strip()
    return cleaned or None


def _compact(value: Any) -> Any:
    """Drop None, empty strings, lists and objects, recursively (FHIR allows no empty elements)."""
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if item is None or item == "":
                continue
            if type(item) is dict or type(item) is list:
                item = _compact(item)
                if not item:
                    continue
            out[key] = item
        return out
    if kind is list:
        out_list = []
        for item in value:
            if item is None or item == "":
                continue
            if type(item) is dict or type(item) is list:
                item = _compact(item)
                if not item:
                    continue
            out_list.append(item)
        return out_list
    return value


def _id(case_id: str, *parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((case_id, *parts))))


def _ref(resource_id: str) -> dict:
    return {"reference": f"urn:uuid:{resource_id}"}


def _date(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _instant(value)
    return value.isoformat()


def _instant(value: datetime | None) -> str | None:
    """An instant (FHIR wants its time zone): a naive time is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _coding(term, *, pt: bool = True) -> list[dict]:
    system = _TERM_SYSTEM.get(term.system)
    if not system or not term.code:
        return []
    # No display for the code itself: `term.text` is the term as written, not the terminology's name for the code.
    codings = [{"system": system, "version": _text(term.version), "code": _text(term.code), "userSelected": True}]
    if pt and term.preferred_term_code and term.preferred_term_code != term.code:
        codings.append({"system": system, "version": _text(term.version), "code": _text(term.preferred_term_code),
                        "display": _text(term.preferred_term)})
    return codings


def _extension(name: str, **value: Any) -> dict:
    return {"url": f"{EXTENSION}{name}", **value}


def _patient(report: CaseReport, pid: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": SYSTEMS["patient"], "value": _text(report.patient_id)}],
        "gender": report.patient_sex if report.patient_sex in ("male", "female") else "unknown",
        "birthDate": _date(report.patient_birth_date),
    }


def _medication(drug: CaseDrug, mid: str) -> dict:
    return {"resourceType": "Medication", "id": mid,
            "code": {"coding": _coding(drug.name, pt=False), "text": _text(drug.name.text)}}


def _statement(report: CaseReport, drug: CaseDrug, sid: str, mid: str, pid: str) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": sid,
        # What is not known is left out (an absent extension says "unknown"): every element costs validation time.
        "extension": [
            _extension("drug-role", valueCoding={"system": SYSTEMS["e2b_role"], "code": drug.role.e2b_code,
                                                 "display": drug.role.value}),
            None if drug.action_taken == ActionTaken.UNKNOWN else _extension(
                "action-taken", valueCoding={"system": SYSTEMS["e2b_action"], "code": drug.action_taken.e2b_code,
                                             "display": drug.action_taken.value}),
            None if drug.dechallenge == ChallengeResult.UNKNOWN else _extension("dechallenge",
                                                                                valueCode=drug.dechallenge.value),
            None if drug.rechallenge == ChallengeResult.UNKNOWN else _extension("rechallenge",
                                                                                valueCode=drug.rechallenge.value),
        ],
        # FHIR's statement status: the drug was stopped when it was withdrawn; otherwise not known from a note.
        "status": "stopped" if drug.action_taken == ActionTaken.WITHDRAWN else "unknown",
        "medicationReference": _ref(mid),
        "subject": _ref(pid),
        "effectivePeriod": {"start": _date(drug.start), "end": _date(drug.end)},
        "dosage": [{"text": _text(dosage_text(drug)), "route": {"text": _text(drug.route)}}],
    }


def _causality(assessment: CausalityAssessment) -> list[dict]:
    out = []
    author = {"display": _text(assessment.assessor)}
    if assessment.who_umc is not None:
        code, display = _WHO_UMC[assessment.who_umc]
        out.append({
            "assessment": {"coding": [{"system": SYSTEMS["causality"], "code": code, "display": display}],
                           "text": assessment.who_umc.value},
            "method": {"text": "WHO-UMC causality assessment"},
            "author": author,
        })
    if assessment.naranjo_score is not None:
        out.append({
            "assessment": {"text": _text(assessment.naranjo_category)},
            "productRelatedness": f"Naranjo score {assessment.naranjo_score}",
            "method": {"coding": [{"system": SYSTEMS["causality_method"], "code": "ProbabilityScale",
                                   "display": "Probability Scale"}], "text": "Naranjo algorithm"},
            "author": author,
        })
    return out


def _adverse_event(report: CaseReport, reaction: CaseReaction, aid: str, pid: str,
                   statements: dict[str, str], documents: list[str]) -> dict:
    outcome_code, outcome_display = _OUTCOME[reaction.outcome]
    suspects = []
    for drug in report.drugs:
        if drug.role not in (DrugRole.SUSPECT, DrugRole.INTERACTING):
            continue
        causality = [c for a in report.causality if a.drug_key == drug.key and a.reaction_key == reaction.key
                     for c in _causality(a)]
        suspects.append({"instance": _ref(statements[drug.key]), "causality": causality})
    extensions = [_extension("seriousness-criterion", valueCoding={"system": SYSTEMS["ich_seriousness"],
                                                                  "code": criterion.value})
                  for criterion in sorted(report.seriousness)]
    extensions.append(_extension("case-narrative", valueString=_text(report.narrative)))
    if report.patient_age_years is not None:
        extensions.append(_extension("age-at-onset", valueAge={
            "value": report.patient_age_years, "unit": "years", "system": "http://unitsofmeasure.org", "code": "a"}))
    serious = ("serious", "Serious") if report.serious else ("non-serious", "Non-serious")
    return {
        "resourceType": "AdverseEvent",
        "id": aid,
        "extension": [e for e in extensions if None not in e.values()],
        "identifier": {"system": SYSTEMS["reaction"], "value": f"{_text(report.case_id)}/{reaction.key}"},
        "actuality": "actual",
        "event": {"coding": _coding(reaction.term), "text": _text(reaction.term.text)},
        "subject": _ref(pid),
        "date": _date(reaction.onset),
        "recordedDate": _instant(report.created_at),
        "seriousness": {"coding": [{"system": SYSTEMS["seriousness"], "code": serious[0], "display": serious[1]}]},
        "outcome": {"coding": [{"system": SYSTEMS["outcome"], "code": outcome_code, "display": outcome_display}],
                    "text": reaction.outcome.value},
        "recorder": {"display": _text(report.reporter)},
        "suspectEntity": suspects,
        "referenceDocument": [_ref(d) for d in documents],
    }


def _document(report: CaseReport, source, did: str, pid: str, text: str | None) -> dict:
    attachment = {"contentType": "text/plain; charset=utf-8", "title": f"note {_text(source.note_external_id)}"}
    if text is not None:
        raw = text.encode("utf-8")
        attachment.update(data=base64.b64encode(raw).decode("ascii"), size=len(raw))
    return {
        "resourceType": "DocumentReference",
        "id": did,
        "identifier": [{"system": SYSTEMS["note"], "value": _text(source.note_external_id)}],
        "status": "current",
        "type": {"text": _text(source.note_type)},
        "subject": _ref(pid),
        "date": _instant(source.written_at),
        "content": [{"attachment": attachment}],
    }


def case_report_to_fhir(
    report: CaseReport, *, include_note_text: bool = False, note_texts: Mapping[str, str] | None = None,
    validate: bool = True,
) -> dict:
    """The case as a FHIR R4 collection Bundle (a JSON-ready dict), validated with fhir.resources.

    Args: `report`; `include_note_text` puts each source note's text (from `note_texts`, note external id ->
    text) into its DocumentReference as a base64 attachment: off by default, so a Bundle names its notes but
    carries none of their text; `validate` (default True) checks the Bundle with fhir.resources.
    Result: the Bundle. Errors: FhirError when it does not validate (a bug, or a value FHIR cannot hold).
    """
    if not _text(report.case_id) or not _text(report.patient_id):
        raise FhirError("a case needs its identifier and its patient's pseudonymous identifier")
    case_id = report.case_id
    pid = _id(case_id, "patient")
    entries = [_patient(report, pid)]
    statements: dict[str, str] = {}
    for drug in report.drugs:
        mid, sid = _id(case_id, "medication", drug.key), _id(case_id, "statement", drug.key)
        statements[drug.key] = sid
        entries += [_medication(drug, mid), _statement(report, drug, sid, mid, pid)]
    documents = []
    texts = note_texts or {}
    for source in report.sources:
        did = _id(case_id, "document", source.note_external_id)
        documents.append(did)
        text = texts.get(source.note_external_id) if include_note_text else None
        entries.append(_document(report, source, did, pid, text))
    for reaction in report.reactions:
        entries.append(_adverse_event(report, reaction, _id(case_id, "event", reaction.key), pid, statements,
                                      documents))
    bundle = _compact({
        "resourceType": "Bundle",
        "id": _id(case_id, "bundle"),
        "identifier": {"system": SYSTEMS["case"], "value": _text(case_id)},
        "type": "collection",
        "timestamp": _instant(report.updated_at or report.created_at),
        "entry": [{"fullUrl": f"urn:uuid:{e['id']}", "resource": e} for e in entries],
    })
    if validate:
        fhir_bundle_validate(bundle)
    return bundle


def case_report_fhir_json(report: CaseReport, **options) -> str:
    """`case_report_to_fhir` as compact JSON text (UTF-8 safe: non-ASCII kept)."""
    return json.dumps(case_report_to_fhir(report, **options), ensure_ascii=False, separators=(",", ":"))


def _problems(exc, prefix: str) -> str:
    return "; ".join(f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def fhir_bundle_validate(bundle: dict) -> None:
    """Check a Bundle (a dict) against the FHIR R4B resource definitions of fhir.resources, every entry's
    resource included: element names, types, cardinality, required elements, the primitives' formats. Not
    checked (fhir.resources does not): terminology bindings and FHIRPath invariants.

    The Bundle's own elements and each entry's resource are validated apart (what validating the whole does,
    entry by entry), and a resource whose content was validated before is not validated again: validation is
    about 50 µs an element, and an export repeats resources (the same drug's Medication in many cases). Resource
    ids and `urn:uuid:` references are left out of that comparison: any UUID is as valid as another there.
    Errors: FhirError naming the first problems (element path and reason)."""
    from fhir.resources.R4B import get_fhir_model_class
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    if isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
        shell = {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]}
        resources = [(i, e.get("resource")) for i, e in enumerate(entries)]
    else:
        shell, resources = bundle, []
    try:
        Bundle.model_validate(shell)
        for i, resource in resources:
            if resource is None:
                continue
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                raise FhirError(f"the FHIR Bundle does not validate: entry.{i}.resource: not a resource")
            key = _content_key(resource)
            with _VALIDATED_LOCK:
                if key in _VALIDATED:
                    _VALIDATED.move_to_end(key)
                    continue
            try:
                get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            except ValidationError as exc:
                raise FhirError(f"the FHIR Bundle does not validate: {_problems(exc, f'entry.{i}.resource.')}") from None
            with _VALIDATED_LOCK:
                _VALIDATED[key] = None
                if len(_VALIDATED) > _VALIDATED_MAX:
                    _VALIDATED.popitem(last=False)
    except ValidationError as exc:
        raise FhirError(f"the FHIR Bundle does not validate: {_problems(exc, '')}") from None
    except (KeyError, TypeError, ValueError) as exc:  # an unknown resourceType, ...
        if isinstance(exc, FhirError):
            raise
        raise FhirError(f"the FHIR Bundle does not validate ({type(exc).__name__}: {str(exc)[:100]})") from None


# Content keys of resources that validated (most recent last), bounded: memory stays flat over any export.
_VALIDATED: OrderedDict[str, None] = OrderedDict()
_VALIDATED_MAX = 4096
_VALIDATED_LOCK = threading.Lock()  # exports may run in threads (the embedded demo's jobs)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _content_key(resource: dict) -> str:
    return _UUID.sub("~", json.dumps(resource, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
