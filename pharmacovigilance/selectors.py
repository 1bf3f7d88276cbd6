"""Reading cases: the cases a user may see (filtered like the line listing), one case, a case as the CaseReport
dataclass the FHIR and E2B writers read (the one mapping from rows to it), and what the case page shows
(evidence quotes, the suspect x reaction pairs with their causality and the answers the notes suggest).

Visibility is decided here, by pharmacovigilance.permissions: a member whose role may not see cases gets none.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Substr

from annotations.errors import ApplicationError
from annotations.models import Note
from annotations.permissions import project_role
from pharmacovigilance.core import report as plain
from pharmacovigilance.core.causality import (
    Answer,
    Mention,
    NaranjoResult,
    NoteText,
    PairFacts,
    Suggestion,
    naranjo_assess,
    naranjo_suggestions,
    suggested_answers,
    who_umc_suggestion,
)
from pharmacovigilance.core.report import (
    ActionTaken,
    CaseReport,
    CaseState,
    CausalityAssessment,
    ChallengeResult,
    Coded,
    DrugRole,
    Evidence,
    Outcome,
    Seriousness,
    SourceDocument,
    WhoUmcCategory,
)
from pharmacovigilance.models import SERIOUSNESS_FIELDS, Case, CaseDrug, CaseEvidence, CaseReaction, Causality
from pharmacovigilance.permissions import case_read_refusal, cases_visible

SUSPECTED_ROLES = (DrugRole.SUSPECT.value, DrugRole.INTERACTING.value)
DATE_FIELDS = {"onset": "onset", "created": "created_at__date", "assessed": "assessed_at__date",
               "reported": "reported_at__date"}


@dataclass(frozen=True)
class CaseFilters:
    """The line listing's filters; empty values filter nothing.

    `drug`, `reaction`: words of the name / term or its code (coded text, PT too); `seriousness`: "serious",
    "non_serious" or one ICH criterion; `who_umc`: a WHO-UMC category some assessment gave; `naranjo`: a
    Naranjo category some assessment reached; `date_from`/`date_to` on `dates` (onset, created, assessed,
    reported); `state`."""

    drug: str = ""
    reaction: str = ""
    seriousness: str = ""
    who_umc: str = ""
    naranjo: str = ""
    date_from: date | None = None
    date_to: date | None = None
    dates: str = "onset"
    state: str = ""

    def active(self) -> bool:
        return any((self.drug, self.reaction, self.seriousness, self.who_umc, self.naranjo, self.date_from,
                    self.date_to, self.state))


SERIOUSNESS_FILTERS = ("serious", "non_serious", *(s.value for s in Seriousness))
NARANJO_FILTERS = ("definite", "probable", "possible", "doubtful")


def _apply(qs: QuerySet[Case], f: CaseFilters) -> QuerySet[Case]:
    if f.drug:
        words = f.drug.strip()
        qs = qs.filter(Exists(CaseDrug.objects.filter(
            Q(name__icontains=words) | Q(code__iexact=words) | Q(code_text__icontains=words), case=OuterRef("pk"))))
    if f.reaction:
        words = f.reaction.strip()
        qs = qs.filter(Exists(CaseReaction.objects.filter(
            Q(term__icontains=words) | Q(code__iexact=words) | Q(code_text__icontains=words)
            | Q(pt_code__iexact=words) | Q(pt_text__icontains=words), case=OuterRef("pk"))))
    if f.seriousness:
        any_serious = Q()
        for name in SERIOUSNESS_FIELDS.values():
            any_serious |= Q(**{name: True})
        if f.seriousness == "serious":
            qs = qs.filter(any_serious)
        elif f.seriousness == "non_serious":
            qs = qs.exclude(any_serious)
        else:
            qs = qs.filter(**{SERIOUSNESS_FIELDS[Seriousness(f.seriousness)]: True})
    if f.who_umc:
        qs = qs.filter(Exists(Causality.objects.filter(case=OuterRef("pk"), who_umc=f.who_umc)))
    if f.naranjo:
        qs = qs.filter(Exists(Causality.objects.filter(case=OuterRef("pk"), naranjo_category=f.naranjo)))
    column = DATE_FIELDS.get(f.dates, "onset")
    if f.date_from:
        qs = qs.filter(**{f"{column}__gte": f.date_from})
    if f.date_to:
        qs = qs.filter(**{f"{column}__lte": f.date_to})
    if f.state:
        qs = qs.filter(state=f.state)
    return qs


def case_filters_clean(raw) -> CaseFilters:
    """CaseFilters from query parameters (a QueryDict or a dict of strings). Errors: bad_filter (400) naming the
    parameter whose value is not one of its choices or not a date."""
    def one(name: str, choices: Iterable[str] | None = None, limit: int = 200) -> str:
        value = str(raw.get(name, "") or "").strip()[:limit]
        if value and choices is not None and value not in choices:
            raise ApplicationError("bad_filter", f"Filter {name}: {value[:30]!r} is not one of {', '.join(choices)}.")
        return value

    def day(name: str) -> date | None:
        value = one(name, limit=10)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ApplicationError("bad_filter", f"Filter {name}: a date is written YYYY-MM-DD.") from None

    return CaseFilters(
        drug=one("drug"), reaction=one("reaction"), seriousness=one("seriousness", SERIOUSNESS_FILTERS),
        who_umc=one("who_umc", [c.value for c in WhoUmcCategory]), naranjo=one("naranjo", NARANJO_FILTERS),
        date_from=day("date_from"), date_to=day("date_to"), dates=one("dates", DATE_FIELDS) or "onset",
        state=one("state", [s.value for s in CaseState]),
    )


def case_list_for_user(*, user, project, role: str | None = None, filters: CaseFilters | None = None,
                       with_evidence: bool = False) -> QuerySet[Case]:
    """The project's cases `user` may see (none unless reviewer or admin), newest first, filtered, with what
    a line listing and `case_report` read prefetched (the evidence quotes only `with_evidence`)."""
    if role is None:
        role = project_role(user=user, project=project)
    if not cases_visible(role):
        return Case.objects.none()
    qs = Case.objects.filter(project=project)
    if filters is not None:
        qs = _apply(qs, filters)
    return case_report_queryset(qs, with_evidence=with_evidence)


def case_get_for_user(*, user, project, case_id: int, role: str | None = None) -> Case:
    """One case of the project, if `user` may see it. Errors: forbidden (403: annotators), not_found (404)."""
    refusal = case_read_refusal(user=user, project=project, role=role)
    if refusal is not None:
        raise refusal
    case = Case.objects.filter(project=project, pk=case_id).select_related(
        "project", "patient", "created_by", "assessed_by", "reported_by").first()
    if case is None:
        raise ApplicationError("not_found", "No such case in this project.", status=404)
    return case


def note_case(*, note) -> Case | None:
    """The case a note belongs to (the oldest, should there be several), or None."""
    return Case.objects.filter(notes=note).order_by("pk").first()


# --- the CaseReport ---------------------------------------------------------------------------------------


def _evidence_queryset() -> QuerySet[CaseEvidence]:
    # The quote is cut from the note's text by the database (offsets are code points there too), so a case
    # of many notes does not carry every note's whole text to Python.
    return CaseEvidence.objects.annotate(
        quote=Substr("note__text", F("start") + 1, F("end") - F("start")),
        note_external_id=F("note__external_id"),
    ).order_by("note__timestamp", "note_id", "start", "pk")


def case_report_queryset(qs: QuerySet[Case], *, with_evidence: bool = True) -> QuerySet[Case]:
    """`qs` with the joins and prefetches `case_report` reads: a fixed number of queries per batch of cases
    (iterate with `.iterator(chunk_size=...)` for many)."""
    prefetch = [
        Prefetch("drugs", queryset=CaseDrug.objects.order_by("position", "pk")),
        Prefetch("reactions", queryset=CaseReaction.objects.order_by("position", "pk")),
        Prefetch("causality", queryset=Causality.objects.select_related("assessed_by")),
        Prefetch("notes", queryset=Note.objects.only("pk", "external_id", "timestamp", "note_type")
                 .order_by("timestamp", "pk")),
    ]
    if with_evidence:
        prefetch.append(Prefetch("evidence", queryset=_evidence_queryset()))
    return qs.select_related("project").prefetch_related(*prefetch)


def _coded(text: str, code: str, system: str, version: str, pt_code: str = "", pt_text: str = "") -> Coded:
    return Coded(text=text, code=code, system=system if code else "", preferred_term_code=pt_code,
                 preferred_term=pt_text, version=version if code else "")


def case_report(case: Case) -> CaseReport:
    """The case as the framework-free CaseReport (what the line listing, FHIR and E2B writers read).

    Uses the prefetches of `case_report_queryset` when the case came from it (`case_list_for_user` does),
    else reads what it needs (a handful of queries). A reaction without its own onset takes the case's."""
    if not hasattr(case, "_prefetched_objects_cache") or "drugs" not in case._prefetched_objects_cache:
        case = case_report_queryset(Case.objects.filter(pk=case.pk)).get()
    cache = case._prefetched_objects_cache
    evidence = list(cache["evidence"]) if "evidence" in cache else []

    def quotes(*, drug=None, reaction=None) -> tuple[Evidence, ...]:
        rows = [e for e in evidence
                if (drug is not None and e.drug_id == drug and e.reaction_id is None)
                or (reaction is not None and e.reaction_id == reaction)]
        return tuple(Evidence(e.note_external_id, e.start, e.end, e.quote or "") for e in rows)

    drugs = tuple(
        plain.CaseDrug(
            key=d.key, name=_coded(d.name, d.code, d.code_system, d.code_version),
            role=DrugRole(d.role), dose=d.dose, route=d.route, frequency=d.frequency, duration=d.duration,
            start=d.start, end=d.end, action_taken=ActionTaken(d.action_taken),
            dechallenge=ChallengeResult(d.dechallenge), rechallenge=ChallengeResult(d.rechallenge),
            evidence=quotes(drug=d.pk),
        )
        for d in case.drugs.all()
    )
    reactions = tuple(
        plain.CaseReaction(
            key=r.key, term=_coded(r.term, r.code, r.code_system or "meddra", r.code_version, r.pt_code, r.pt_text),
            onset=r.onset or case.onset, outcome=Outcome(r.outcome), evidence=quotes(reaction=r.pk),
        )
        for r in case.reactions.all()
    )
    keys = {d.pk: d.key for d in case.drugs.all()} | {("r", r.pk): r.key for r in case.reactions.all()}
    causality = tuple(
        CausalityAssessment(
            drug_key=keys[c.drug_id], reaction_key=keys[("r", c.reaction_id)],
            who_umc=WhoUmcCategory(c.who_umc) if c.who_umc else None, naranjo_score=c.naranjo_score,
            naranjo_category=c.naranjo_category, assessor=c.assessed_by.get_username(), assessed_at=c.assessed_at,
        )
        for c in sorted(case.causality.all(), key=lambda c: (keys[c.drug_id], keys[("r", c.reaction_id)]))
    )
    return CaseReport(
        case_id=case.reference, patient_id=case.patient_identifier, patient_sex=case.patient_sex,
        patient_age_years=case.patient_age_years, drugs=drugs, reactions=reactions, causality=causality,
        seriousness=case.seriousness, narrative=case.narrative, reporter=case.reporter,
        reporter_qualification=case.reporter_qualification, state=CaseState(case.state),
        created_at=case.created_at, updated_at=case.updated_at,
        sources=tuple(SourceDocument(n.external_id, n.timestamp, n.note_type) for n in case.notes.all()),
    )


def case_reports(cases: QuerySet[Case], *, chunk_size: int = 500, with_evidence: bool = True) -> Iterator[CaseReport]:
    """CaseReports of `cases`, read a chunk at a time (memory flat whatever the number of cases)."""
    # Prefetches the caller's queryset may carry (case_list_for_user's) give way to this reader's.
    cases = case_report_queryset(cases.prefetch_related(None), with_evidence=with_evidence)
    for case in cases.iterator(chunk_size=chunk_size):
        yield case_report(case)


# --- the case page --------------------------------------------------------------------------------------


@dataclass
class EvidenceView:
    note_id: int
    note_external_id: str
    start: int
    end: int
    quote: str
    kind: str
    annotation_set_id: int | None
    annotation_local_id: str


@dataclass
class PairView:
    """One suspect drug x reaction: its assessment (None until assessed), the answers the form shows (saved,
    else suggested), their score, and the suggestions with their evidence."""

    drug: CaseDrug
    reaction: CaseReaction
    causality: Causality | None
    answers: dict[int, Answer]
    result: NaranjoResult
    suggestions: dict[int, Suggestion]
    who_umc_suggestion: Suggestion | None
    relation_evidence: list[EvidenceView] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.drug.pk}-{self.reaction.pk}"


@dataclass
class CasePage:
    case: Case
    notes: list[Note]
    drugs: list[CaseDrug]
    reactions: list[CaseReaction]
    evidence_by_drug: dict[int, list[EvidenceView]]
    evidence_by_reaction: dict[int, list[EvidenceView]]
    pairs: list[PairView]


def _views(rows) -> list[EvidenceView]:
    return [EvidenceView(e.note_id, e.note_external_id, e.start, e.end, e.quote or "", e.kind, e.annotation_set_id,
                         e.annotation_local_id) for e in rows]


def pair_facts(*, drug: CaseDrug, reaction: CaseReaction, evidence: list, notes: list[NoteText]) -> PairFacts:
    """What the case knows about one drug and one reaction, for the causality core."""
    def mentions(rows) -> tuple[Mention, ...]:
        return tuple(Mention(e.note_external_id, e.start, e.end, tuple(tuple(a) for a in (e.attributes or [])))
                     for e in rows)

    drug_rows = [e for e in evidence if e.drug_id == drug.pk and e.kind == "drug"]
    reaction_rows = [e for e in evidence if e.reaction_id == reaction.pk and e.kind == "reaction"]
    relations = [e for e in evidence if e.kind == "relation" and e.drug_id == drug.pk and e.reaction_id == reaction.pk]
    return PairFacts(
        drug_names=tuple({drug.name, drug.code_text, *(e.quote for e in drug_rows)} - {""}),
        reaction_terms=tuple({reaction.term, reaction.code_text, *(e.quote for e in reaction_rows)} - {""}),
        notes=tuple(notes), drug_mentions=mentions(drug_rows), reaction_mentions=mentions(reaction_rows),
        relations=mentions(relations), dechallenge=ChallengeResult(drug.dechallenge),
        rechallenge=ChallengeResult(drug.rechallenge),
    )


def case_page(*, case: Case, pair_answers: dict[str, dict] | None = None) -> CasePage:
    """What the case page shows. `pair_answers` ({pair id: answers}) replaces a pair's answers by unsaved ones
    (the questionnaire's live score while the assessor answers)."""
    notes = list(case.notes.order_by("timestamp", "pk").only("pk", "external_id", "text", "timestamp", "note_type"))
    evidence = list(_evidence_queryset().filter(case=case))
    drugs = list(case.drugs.order_by("position", "pk"))
    reactions = list(case.reactions.order_by("position", "pk"))
    assessed = {(c.drug_id, c.reaction_id): c for c in Causality.objects.filter(case=case).select_related("assessed_by")}
    by_drug: dict[int, list[EvidenceView]] = {}
    by_reaction: dict[int, list[EvidenceView]] = {}
    for e in evidence:
        if e.drug_id is not None and e.reaction_id is None:
            by_drug.setdefault(e.drug_id, []).extend(_views([e]))
        elif e.reaction_id is not None and e.drug_id is None:
            by_reaction.setdefault(e.reaction_id, []).extend(_views([e]))
    texts = [NoteText(n.external_id, n.text) for n in notes]
    pairs = []
    for d in drugs:
        if d.role not in SUSPECTED_ROLES:
            continue
        for r in reactions:
            facts = pair_facts(drug=d, reaction=r, evidence=evidence, notes=texts)
            suggestions = naranjo_suggestions(facts)
            row = assessed.get((d.pk, r.pk))
            pid = f"{d.pk}-{r.pk}"
            if pair_answers is not None and pid in pair_answers:
                answers = pair_answers[pid]
            elif row is not None and row.naranjo_answers:
                answers = row.naranjo_answers
            else:
                answers = suggested_answers(suggestions)
            result = naranjo_assess(answers)
            pairs.append(PairView(
                drug=d, reaction=r, causality=row, answers=result.answers, result=result, suggestions=suggestions,
                who_umc_suggestion=who_umc_suggestion(facts),
                relation_evidence=_views([e for e in evidence if e.kind == "relation" and e.drug_id == d.pk
                                          and e.reaction_id == r.pk]),
            ))
    return CasePage(case=case, notes=notes, drugs=drugs, reactions=reactions, evidence_by_drug=by_drug,
                    evidence_by_reaction=by_reaction, pairs=pairs)


def case_notes_addable(*, case: Case) -> QuerySet[Note]:
    """The notes of the case's patient that are not in the case yet (what "add another note" offers)."""
    if case.patient_id is None:
        return Note.objects.none()
    return (Note.objects.filter(project_id=case.project_id, patient_id=case.patient_id)
            .exclude(pk__in=case.notes.values("pk")).only("pk", "external_id", "timestamp", "final_verdict")
            .order_by("timestamp", "pk"))
