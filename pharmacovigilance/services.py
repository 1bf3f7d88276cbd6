"""Writing cases: open one from a confirmed note (pre-filled from its gold annotations), edit it, add drugs,
reactions and further notes of the same patient, assess causality, and move it draft -> assessed -> reported.

Rules every door gets (page, API, command), because they are checked here:
- reviewers and admins only, never in an archived project (pharmacovigilance.permissions);
- every change names the case version it was made on and is refused (409, nothing written) when the case
  changed since; every change bumps the version;
- a case changes only while it is a draft: an assessed case is reopened (back to draft) to change it, and a
  reported case never changes;
- assessed needs at least one suspect drug, one reaction and a causality assessment of every suspect drug x
  reaction pair.
Each service runs in one transaction and writes its own audit record (`case_change`: ids, fields and
versions, never clinical words).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError, ConflictError
from annotations.formats.document import Document
from annotations.gold import gold_sets
from annotations.models import AnnotationSet, Note, Patient
from annotations.services.document_store import annotation_sets_to_documents
from annotations.services.editing import evidence_relation_types
from annotations.services.schemas import project_schema_get
from pharmacovigilance.core.case_draft import (
    CaseDraft,
    SourceEntity,
    SourceNote,
    SourceRelation,
    case_draft,
    name_key,
)
from pharmacovigilance.core.causality import CausalityError, naranjo_assess
from pharmacovigilance.core.report import (
    ActionTaken,
    CaseState,
    ChallengeResult,
    DrugRole,
    Outcome,
    ReporterQualification,
    Seriousness,
    WhoUmcCategory,
)
from pharmacovigilance.models import (
    SERIOUSNESS_FIELDS,
    Case,
    CaseDrug,
    CaseEvidence,
    CaseReaction,
    Causality,
)
from pharmacovigilance.permissions import case_change_refusal, case_check

SUSPECTED_ROLES = (DrugRole.SUSPECT.value, DrugRole.INTERACTING.value)
MAX_NARRATIVE = 20_000


# --- shared steps ----------------------------------------------------------------------------------------


def _locked(case: Case, *, by, version: int | None, draft_only: bool = True) -> Case:
    """The case row locked for this transaction, after the checks every change makes: the user's role, the
    version they read, and (for edits) that the case is a draft."""
    locked = Case.objects.select_for_update(of=("self",)).select_related("project").get(pk=case.pk)
    case_check(case_change_refusal(user=by, project=locked.project))
    if version is None:
        raise ApplicationError("version_required", "Send the case version you read so that nobody's change is lost.",
                               status=428)
    if locked.version != version:
        raise ConflictError(
            f"This case changed since you read it (now version {locked.version}, you read {version}). Nothing was "
            "saved: reload it and make your change again.", current_version=locked.version)
    if draft_only and locked.state != CaseState.DRAFT:
        if locked.state == CaseState.REPORTED:
            raise ApplicationError("reported", "This case is reported: it no longer changes.", status=409)
        raise ApplicationError("not_draft", "This case is assessed: reopen it (back to draft) to change it.",
                               status=409)
    return locked


def _bump(locked: Case, *, fields: Iterable[str] = ()) -> Case:
    locked.version += 1
    locked.save(update_fields=["version", "updated_at", *fields])
    return locked


def _audit(locked: Case, *, by, op: str, note=None, **details) -> None:
    audit_record(action=AuditAction.CASE_CHANGE, actor=by, project=locked.project, note=note, object_type="case",
                 object_id=locked.pk, details={"op": op, "version": locked.version, **details})


def _done(case: Case, locked: Case) -> Case:
    """Copy what changed onto the caller's instance (its version above all) and hand it back."""
    for f in locked._meta.concrete_fields:
        setattr(case, f.attname, getattr(locked, f.attname))
    return case


def _choice(value, enum, what: str) -> str:
    try:
        return enum(value).value
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ApplicationError(f"bad_{what}", f"{what.replace('_', ' ').capitalize()} must be one of: {allowed}.") \
            from None


def _text(value, what: str, limit: int, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise ApplicationError(f"{what}_required", f"Give the {what.replace('_', ' ')}.")
    if len(text) > limit:
        raise ApplicationError(f"{what}_too_long", f"The {what.replace('_', ' ')} is limited to {limit} characters.")
    if "\x00" in text:
        raise ApplicationError(f"bad_{what}", f"The {what.replace('_', ' ')} holds a NUL character.")
    return text


def _date(value, what: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ApplicationError(f"bad_{what}", f"The {what.replace('_', ' ')} must be a date (YYYY-MM-DD).") from None


def _next_key(rows, prefix: str) -> str:
    numbers = [int(k[1:]) for k in rows.values_list("key", flat=True) if k[1:].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


# --- opening a case from a note --------------------------------------------------------------------------


def note_source_set(*, note: Note) -> AnnotationSet | None:
    """The annotations a case is drafted from: the note's gold (annotations.gold's one rule: a signed-off,
    curated or imported gold set, else the one submission), None when it has none."""
    gold = gold_sets(project=note.project, note_ids=[note.pk]).set_ids().get(note.pk)
    return AnnotationSet.objects.filter(pk=gold).first() if gold else None


def _source_note(note: Note, aset: AnnotationSet | None) -> SourceNote:
    if aset is None:
        return SourceNote(external_id=note.external_id, text=note.text, written_at=note.timestamp)
    document: Document = annotation_sets_to_documents([aset])[aset.pk]
    attributes: dict[str, list[tuple[str, str]]] = {}
    for a in document.attributes:
        attributes.setdefault(a.target, []).append((a.name, a.value or ""))
    return SourceNote(
        external_id=note.external_id, text=note.text, written_at=note.timestamp, annotation_set=str(aset.pk),
        entities=tuple(SourceEntity(e.id, e.type, tuple((s.start, s.end) for s in e.spans), e.text,
                                    tuple(attributes.get(e.id, ()))) for e in document.entities),
        relations=tuple(SourceRelation(r.id, r.type, r.arg1, r.arg2) for r in document.relations),
    )


def _draft(note: Note, aset: AnnotationSet | None) -> CaseDraft:
    project = note.project
    types = evidence_relation_types(project_schema_get(project=project), project)
    return case_draft([_source_note(note, aset)], ade_relation_types=types)


_QUALIFICATIONS = {"physician": ReporterQualification.PHYSICIAN, "doctor": ReporterQualification.PHYSICIAN,
                   "pharmacist": ReporterQualification.PHARMACIST, "nurse": ReporterQualification.OTHER_HCP}


def _patient_facts(patient: Patient | None) -> dict:
    """Sex and age from the patient's metadata when the import gave them (FHIR Patient, a CSV column)."""
    meta = (patient.metadata if patient is not None else None) or {}
    sex = str(meta.get("sex") or meta.get("gender") or "").strip().lower()
    age = meta.get("age") or meta.get("age_years")
    return {
        "patient_sex": {"m": "male", "male": "male", "f": "female", "female": "female"}.get(sex, ""),
        "patient_age_years": int(age) if isinstance(age, int | str) and str(age).isdigit() and int(age) < 150
        else None,
    }


def _merge_draft(locked: Case, *, note: Note, aset: AnnotationSet | None, draft: CaseDraft) -> dict:
    """Add a drafted note's drugs, reactions and evidence to the case: a drug or reaction the case already
    holds (same name) gains the evidence and fills only its empty fields; the others are added. Returns
    counts for the audit record."""
    drugs = {name_key(d.name): d for d in locked.drugs.all()}
    reactions = {name_key(r.term): r for r in locked.reactions.all()}
    position = max([d.position for d in drugs.values()] + [r.position for r in reactions.values()], default=0)
    evidence: list[CaseEvidence] = []
    set_version = aset.version if aset is not None else None
    added = {"drugs": 0, "reactions": 0}

    def row(ev, **subject) -> CaseEvidence:
        return CaseEvidence(case=locked, note=note, kind=ev.kind, start=ev.start, end=ev.end, annotation_set=aset,
                            annotation_set_version=set_version, annotation_local_id=ev.annotation_id,
                            attributes=[list(a) for a in ev.attributes], **subject)

    drug_rows = []
    for d in draft.drugs:
        existing = drugs.get(name_key(d.name))
        if existing is None:
            position += 1
            existing = CaseDrug.objects.create(
                case=locked, key=_next_key(locked.drugs, "D"), role=d.role.value, name=d.name[:300],
                dose=d.dose[:300], route=d.route[:100], frequency=d.frequency[:200], duration=d.duration[:200],
                position=position)
            drugs[name_key(d.name)] = existing
            added["drugs"] += 1
        else:
            empty = [f for f in ("dose", "route", "frequency", "duration") if not getattr(existing, f) and getattr(d, f)]
            for f in empty:
                setattr(existing, f, getattr(d, f)[:CaseDrug._meta.get_field(f).max_length])
            if d.role == DrugRole.SUSPECT and existing.role == DrugRole.CONCOMITANT.value:
                existing.role = DrugRole.SUSPECT.value  # this note relates it to a reaction
                empty.append("role")
            if empty:
                existing.save(update_fields=empty)
        drug_rows.append(existing)
        evidence += [row(ev, drug=existing) for ev in d.evidence]
    reaction_rows = []
    for r in draft.reactions:
        existing = reactions.get(name_key(r.term))
        if existing is None:
            position += 1
            existing = CaseReaction.objects.create(case=locked, key=_next_key(locked.reactions, "R"),
                                                   term=r.term[:300], position=position)
            reactions[name_key(r.term)] = existing
            added["reactions"] += 1
        reaction_rows.append(existing)
        evidence += [row(ev, reaction=existing) for ev in r.evidence]
    for link in draft.links:
        evidence.append(row(link.evidence, drug=drug_rows[link.drug], reaction=reaction_rows[link.reaction]))
    CaseEvidence.objects.bulk_create(evidence)
    return {**added, "evidence": len(evidence)}


@dataclass(frozen=True)
class CaseOpened:
    case: Case
    created: bool  # False: the note already belonged to a case, which is returned


def case_open_from_note(*, note: Note, by) -> CaseOpened:
    """Open a case from a confirmed note, pre-filled from its gold annotations; the note's case when it has
    one already (one click always lands on the note's case, never on a second copy).

    Drugs become suspect when the annotations relate them to a reaction as its adverse effect (the others
    concomitant), with dose, route, frequency and duration from the relations to them; reactions (negated ones
    left out) with their evidence spans; onset from the note's date; the patient is the note's; the narrative
    is drafted from the evidence sentences. Errors: forbidden / archived (403), not_confirmed (409: the note is
    not a confirmed ADE), no_gold (409: nothing signed off to draft from)."""
    with transaction.atomic():
        # The note's row lock makes two clicks at once open one case, not two.
        locked_note = Note.objects.select_for_update(of=("self",)).select_related("project", "patient").get(pk=note.pk)
        project = locked_note.project
        case_check(case_change_refusal(user=by, project=project))
        existing = Case.objects.filter(project=project, notes=locked_note).order_by("pk").first()
        if existing is not None:
            return CaseOpened(existing, False)
        if locked_note.final_verdict != "ade":
            raise ApplicationError("not_confirmed", "Only a confirmed ADE opens a case: confirm the note's flag first.",
                                   status=409)
        aset = note_source_set(note=locked_note)
        if aset is None:
            raise ApplicationError("no_gold", "This note has no signed-off annotations to draft a case from yet.",
                                   status=409)
        draft = _draft(locked_note, aset)
        patient = locked_note.patient
        case = Case.objects.create(
            project=project, reference=f"pending-{locked_note.pk}-{timezone.now().timestamp()}", created_by=by,
            patient=patient, patient_identifier=(patient.external_id if patient else locked_note.external_id)[:200],
            onset=draft.onset, narrative=draft.narrative[:MAX_NARRATIVE],
            reporter_qualification=_QUALIFICATIONS.get(locked_note.author_role.strip().lower(),
                                                       ReporterQualification.OTHER_HCP).value,
            **_patient_facts(patient),
        )
        # The reference is the project's short name and the case's number: stable, unique, no clinical words.
        case.reference = f"{project.slug}-{case.pk}"
        case.save(update_fields=["reference"])
        case.notes.add(locked_note)
        counts = _merge_draft(case, note=locked_note, aset=aset, draft=draft)
        _audit(case, by=by, op="open", note=locked_note, annotation_set=aset.pk, annotation_set_version=aset.version,
               **counts)
    return CaseOpened(case, True)


def case_note_add(*, case: Case, note: Note, by, version: int | None) -> Case:
    """Add another note of the case's patient (a follow-up, the same episode): its gold annotations' drugs,
    reactions and evidence join the case (same names merge). Errors: other_project / other_patient /
    no_patient (400), already_in_case (409), and those of every change."""
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        note = Note.objects.select_related("project", "patient").get(pk=note.pk)
        if note.project_id != locked.project_id:
            raise ApplicationError("other_project", "That note belongs to another project.")
        if locked.patient_id is None:
            raise ApplicationError("no_patient", "This case's note has no patient, so no other note can be known to "
                                                 "be the same patient's.")
        if note.patient_id != locked.patient_id:
            raise ApplicationError("other_patient", "That note is another patient's: a case gathers one patient's "
                                                    "notes.")
        if locked.notes.filter(pk=note.pk).exists():
            raise ApplicationError("already_in_case", "That note is already in this case.", status=409)
        aset = note_source_set(note=note)
        locked.notes.add(note)
        counts = _merge_draft(locked, note=note, aset=aset, draft=_draft(note, aset)) if aset is not None else {}
        _bump(locked)
        _audit(locked, by=by, op="note_add", note=note, annotation_set=aset.pk if aset else None, **counts)
    return _done(case, locked)


# --- editing ---------------------------------------------------------------------------------------------

CASE_FIELDS = ("onset", "seriousness", "reporter", "reporter_qualification", "narrative", "patient_sex",
               "patient_age_years")


def case_update(*, case: Case, by, version: int | None, **changes) -> Case:
    """Change the case's own fields (those of CASE_FIELDS given; `seriousness` is the set of ICH criteria that
    apply, every other criterion is cleared). Errors: unknown_field, bad_<field>, <field>_too_long, and those
    of every change."""
    unknown = set(changes) - set(CASE_FIELDS)
    if unknown:
        raise ApplicationError("unknown_field", f"Cases have no field {sorted(unknown)[0]!r}.")
    values: dict = {}
    if "onset" in changes:
        values["onset"] = _date(changes["onset"], "onset")
    if "reporter" in changes:
        values["reporter"] = _text(changes["reporter"], "reporter", 200)
    if "reporter_qualification" in changes:
        values["reporter_qualification"] = _choice(changes["reporter_qualification"], ReporterQualification,
                                                   "reporter_qualification")
    if "narrative" in changes:
        values["narrative"] = _text(changes["narrative"], "narrative", MAX_NARRATIVE)
    if "patient_sex" in changes:
        sex = changes["patient_sex"] or ""
        if sex not in ("", "male", "female"):
            raise ApplicationError("bad_patient_sex", "The patient's sex is male, female or unknown (empty).")
        values["patient_sex"] = sex
    if "patient_age_years" in changes:
        age = changes["patient_age_years"]
        if age in (None, ""):
            values["patient_age_years"] = None
        elif not str(age).isdigit() or int(age) > 150:
            raise ApplicationError("bad_patient_age_years", "The patient's age is a whole number of years, 0-150.")
        else:
            values["patient_age_years"] = int(age)
    if "seriousness" in changes:
        criteria = {_choice(s, Seriousness, "seriousness") for s in (changes["seriousness"] or ())}
        for s, name in SERIOUSNESS_FIELDS.items():
            values[name] = s.value in criteria
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        changed = sorted(k for k, v in values.items() if getattr(locked, k) != v)
        for k, v in values.items():
            setattr(locked, k, v)
        _bump(locked, fields=list(values))
        _audit(locked, by=by, op="update", fields=changed)
    return _done(case, locked)


DRUG_FIELDS = ("name", "role", "code", "code_system", "code_version", "code_text", "dose", "route", "frequency",
               "duration", "start", "end", "action_taken", "dechallenge", "rechallenge")
REACTION_FIELDS = ("term", "code", "code_system", "code_version", "code_text", "pt_code", "pt_text", "onset",
                   "outcome")
_CHOICE_FIELDS = {"role": DrugRole, "action_taken": ActionTaken, "dechallenge": ChallengeResult,
                  "rechallenge": ChallengeResult, "outcome": Outcome}


def _row_values(model, changes: dict, allowed: tuple[str, ...], *, required: str | None) -> dict:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ApplicationError("unknown_field", f"No field {sorted(unknown)[0]!r} here.")
    values = {}
    for name, value in changes.items():
        field = model._meta.get_field(name)
        if name in _CHOICE_FIELDS:
            values[name] = _choice(value, _CHOICE_FIELDS[name], name)
        elif field.get_internal_type() == "DateField":
            values[name] = _date(value, name)
        else:
            values[name] = _text(value, name, field.max_length, required=name == required)
    return values


def _check_dates(drug: CaseDrug) -> None:
    if drug.start and drug.end and drug.start > drug.end:
        raise ApplicationError("bad_dates", "The drug's end date is before its start date.")


def case_drug_add(*, case: Case, by, version: int | None, **fields) -> CaseDrug:
    """Add a drug (fields of DRUG_FIELDS; `name` required). Errors: name_required, bad_<field>, bad_dates, and
    those of every change."""
    values = _row_values(CaseDrug, fields, DRUG_FIELDS, required="name")
    if not values.get("name"):
        raise ApplicationError("name_required", "Give the drug's name.")
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        position = (locked.drugs.aggregate(m=Max("position"))["m"] or 0) + 1
        drug = CaseDrug(case=locked, key=_next_key(locked.drugs, "D"), position=position, **values)
        _check_dates(drug)
        drug.save()
        _bump(locked)
        _audit(locked, by=by, op="drug_add", drug=drug.key, fields=sorted(values))
    _done(case, locked)
    return drug


def _drug(locked: Case, drug_id: int) -> CaseDrug:
    drug = CaseDrug.objects.filter(case=locked, pk=drug_id).first()
    if drug is None:
        raise ApplicationError("not_found", "No such drug in this case.", status=404)
    return drug


def _reaction(locked: Case, reaction_id: int) -> CaseReaction:
    reaction = CaseReaction.objects.filter(case=locked, pk=reaction_id).first()
    if reaction is None:
        raise ApplicationError("not_found", "No such reaction in this case.", status=404)
    return reaction


def case_drug_update(*, case: Case, drug_id: int, by, version: int | None, **changes) -> CaseDrug:
    """Change a drug's fields (those given). A drug that stops being suspect or interacting loses its causality
    assessments (they were about a suspect). Errors: as `case_drug_add`, not_found (404)."""
    values = _row_values(CaseDrug, changes, DRUG_FIELDS, required="name")
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        drug = _drug(locked, drug_id)
        changed = sorted(k for k, v in values.items() if getattr(drug, k) != v)
        for k, v in values.items():
            setattr(drug, k, v)
        _check_dates(drug)
        drug.save()
        dropped = 0
        if drug.role not in SUSPECTED_ROLES:
            dropped, _ = Causality.objects.filter(drug=drug).delete()
        _bump(locked)
        _audit(locked, by=by, op="drug_update", drug=drug.key, fields=changed, causality_dropped=dropped)
    _done(case, locked)
    return drug


def case_drug_remove(*, case: Case, drug_id: int, by, version: int | None) -> Case:
    """Remove a drug with its evidence and causality. Errors: not_found (404), and those of every change."""
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        drug = _drug(locked, drug_id)
        key = drug.key
        drug.delete()
        _bump(locked)
        _audit(locked, by=by, op="drug_remove", drug=key)
    return _done(case, locked)


def case_reaction_add(*, case: Case, by, version: int | None, **fields) -> CaseReaction:
    """Add a reaction (fields of REACTION_FIELDS; `term` required). Errors: term_required, bad_<field>, and
    those of every change."""
    values = _row_values(CaseReaction, fields, REACTION_FIELDS, required="term")
    if not values.get("term"):
        raise ApplicationError("term_required", "Give the reaction's term.")
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        position = (locked.reactions.aggregate(m=Max("position"))["m"] or 0) + 1
        reaction = CaseReaction.objects.create(case=locked, key=_next_key(locked.reactions, "R"), position=position,
                                               **values)
        _bump(locked)
        _audit(locked, by=by, op="reaction_add", reaction=reaction.key, fields=sorted(values))
    _done(case, locked)
    return reaction


def case_reaction_update(*, case: Case, reaction_id: int, by, version: int | None, **changes) -> CaseReaction:
    """Change a reaction's fields (those given), its coding among them. Errors: as `case_reaction_add`,
    not_found (404)."""
    values = _row_values(CaseReaction, changes, REACTION_FIELDS, required="term")
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        reaction = _reaction(locked, reaction_id)
        changed = sorted(k for k, v in values.items() if getattr(reaction, k) != v)
        for k, v in values.items():
            setattr(reaction, k, v)
        reaction.save()
        _bump(locked)
        _audit(locked, by=by, op="reaction_update", reaction=reaction.key, fields=changed)
    _done(case, locked)
    return reaction


def case_reaction_remove(*, case: Case, reaction_id: int, by, version: int | None) -> Case:
    """Remove a reaction with its evidence and causality. Errors: not_found (404), and those of every change."""
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        reaction = _reaction(locked, reaction_id)
        key = reaction.key
        reaction.delete()
        _bump(locked)
        _audit(locked, by=by, op="reaction_remove", reaction=key)
    return _done(case, locked)


# --- causality -------------------------------------------------------------------------------------------


def case_causality_assess(*, case: Case, drug_id: int, reaction_id: int, by, version: int | None,
                          who_umc: str | None = "", naranjo_answers: dict | None = None) -> Causality:
    """Assess one suspect drug and one reaction: the WHO-UMC category (or none) and the Naranjo answers (any
    of questions 1-10; unanswered ones count as "do not know"), scored here; the assessor and the time are
    recorded. An assessment needs a WHO-UMC category or at least one Naranjo answer.
    Errors: bad_who_umc, bad_naranjo, not_suspect (the drug is concomitant), empty_assessment, not_found
    (404), and those of every change."""
    who = _choice(who_umc, WhoUmcCategory, "who_umc") if who_umc else ""
    answers = naranjo_answers or {}
    try:
        result = naranjo_assess(answers)
    except CausalityError as error:
        raise ApplicationError("bad_naranjo", str(error)) from None
    answered = any(a.value != "dont_know" for a in result.answers.values())
    if not who and not answered:
        raise ApplicationError("empty_assessment", "Choose a WHO-UMC category or answer the Naranjo questions.")
    with transaction.atomic():
        locked = _locked(case, by=by, version=version)
        drug, reaction = _drug(locked, drug_id), _reaction(locked, reaction_id)
        if drug.role not in SUSPECTED_ROLES:
            raise ApplicationError("not_suspect", "Causality is assessed for suspect and interacting drugs; this one "
                                                  "is concomitant.")
        row, _ = Causality.objects.update_or_create(
            drug=drug, reaction=reaction,
            defaults={
                "case": locked, "who_umc": who,
                "naranjo_answers": {str(n): a.value for n, a in result.answers.items()} if answered else {},
                "naranjo_score": result.score if answered else None,
                "naranjo_category": result.category.value if answered else "",
                "assessed_by": by, "assessed_at": timezone.now(),
            },
        )
        _bump(locked)
        _audit(locked, by=by, op="causality", drug=drug.key, reaction=reaction.key, who_umc=who or None,
               naranjo_score=row.naranjo_score)
    _done(case, locked)
    return row


# --- state -----------------------------------------------------------------------------------------------

TRANSITIONS = {
    (CaseState.DRAFT, CaseState.ASSESSED),
    (CaseState.ASSESSED, CaseState.DRAFT),  # reopen, to change it
    (CaseState.ASSESSED, CaseState.REPORTED),
}


def case_assessment_gaps(case: Case) -> list[str]:
    """What keeps the case from being assessed, as sentences (empty when nothing does)."""
    suspects = list(case.drugs.filter(role__in=SUSPECTED_ROLES))
    reactions = list(case.reactions.all())
    gaps = []
    if not suspects:
        gaps.append("The case has no suspect drug.")
    if not reactions:
        gaps.append("The case has no reaction.")
    done = {
        (d, r) for d, r in Causality.objects.filter(case=case).exclude(who_umc="", naranjo_score__isnull=True)
        .values_list("drug_id", "reaction_id")
    }
    for d in suspects:
        for r in reactions:
            if (d.pk, r.pk) not in done:
                gaps.append(f"Causality of {d.key} for {r.key} is not assessed.")
    return gaps


def case_transition(*, case: Case, by, version: int | None, to: str) -> Case:
    """Move the case to state `to`: draft -> assessed (every suspect drug x reaction assessed), assessed ->
    reported, assessed -> draft (reopen). Who and when are recorded. Errors: bad_state, reported (409),
    bad_transition (409), incomplete (409, with the gaps in `details`), and those of every change."""
    target = CaseState(_choice(to, CaseState, "state"))
    with transaction.atomic():
        locked = _locked(case, by=by, version=version, draft_only=False)
        current = CaseState(locked.state)
        if current == CaseState.REPORTED:
            raise ApplicationError("reported", "This case is reported: it no longer changes.", status=409)
        if (current, target) not in TRANSITIONS:
            raise ApplicationError("bad_transition", f"A {current.value} case cannot become {target.value}.",
                                   status=409)
        now = timezone.now()
        fields = ["state"]
        if target == CaseState.ASSESSED:
            gaps = case_assessment_gaps(locked)
            if gaps:
                raise ApplicationError("incomplete", "Not ready to be assessed: " + " ".join(gaps),
                                       details={"gaps": gaps}, status=409)
            locked.assessed_by, locked.assessed_at = by, now
            fields += ["assessed_by", "assessed_at"]
        elif target == CaseState.REPORTED:
            locked.reported_by, locked.reported_at = by, now
            fields += ["reported_by", "reported_at"]
        else:  # reopened: the assessment it had no longer stands as is
            locked.assessed_by, locked.assessed_at = None, None
            fields += ["assessed_by", "assessed_at"]
        locked.state = target.value
        _bump(locked, fields=fields)
        _audit(locked, by=by, op="transition", **{"from": current.value, "to": target.value})
    return _done(case, locked)
