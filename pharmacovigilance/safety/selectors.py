"""What the safety overview counts, aggregated in the database (a few queries whatever the number of notes or
cases). Two sources:

- "annotations": the ADE relations (the project's evidence relation types, else "Adverse-Effect" / "ADE") of each
  note's gold, between a drug mention (entity types `DRUG_TYPES`) and a reaction (the relation's other argument);
  relations a reviewer rejected are left out. A note's gold here is its newest gold-status set that people made
  or imported and that holds something (a signed-off set, an imported gold corpus), as in `annotations.gold`;
  notes with only a submitted set (not yet confirmed) or only raw imported text (an empty import set) are not
  counted. The unit (a "report") is the note.
- "cases": the confirmed cases (assessed or reported): their suspect and interacting drugs and their reactions.
  The unit is the case (a case may gather several notes of one episode: counting notes would count it twice).

Keys: a drug is counted under its ATC code cut to the chosen level when coded (a normalization whose resource is
ATC; a case drug coded in ATC), else under its text lower-cased; a reaction under its MedDRA PT (from an LLT or PT
code through the current MedDRA; a case reaction's own PT) or the PT's primary SOC, else under the MedDRA code as
given (no terminology loaded), else under its text.

Disproportionality (within the hospital): for a drug X and reaction Y over the source's reports, a = reports that
name X and confirm Y (co-occurrence, as in spontaneous reporting databases: any drug of the report, suspect or
not, counts as named), b = reports that name X without Y, c = reports with Y without X, d = the others; PRR and
ROR with their intervals from pharmacovigilance.core.disproportionality.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, Lower, NullIf, Substr, Trim, TruncMonth, Upper

from annotations.formats.schema import ADE_RELATION_NAMES
from annotations.models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    Decision,
    Entity,
    Normalization,
    NoteLabel,
    Project,
    Relation,
)
from pharmacovigilance.core.disproportionality import Disproportionality, disproportionality
from pharmacovigilance.core.report import CaseState, DrugRole
from pharmacovigilance.core.terminology import Level, System
from pharmacovigilance.models import Case as CaseRow
from pharmacovigilance.models import CaseDrug, CaseReaction
from pharmacovigilance.terminology.models import Term, TermHierarchy

__all__ = ["DRUG_TYPES", "ATC_LEVELS", "REACTION_LEVELS", "SOURCES", "KeyCount", "MonthCount", "PairRow",
           "SafetyTable", "safety_counts_by_drug", "safety_counts_by_reaction", "safety_counts_over_time",
           "safety_disproportionality"]

DRUG_TYPES = ("Drug", "Chemical", "Medication")
# ATC level -> the code's length at that level (A, A10, A10B, A10BA, A10BA02).
ATC_LEVELS = {1: 1, 2: 3, 3: 4, 4: 5, 5: 7}
REACTION_LEVELS = ("pt", "soc")
SOURCES = ("annotations", "cases")
CONFIRMED_STATES = (CaseState.ASSESSED.value, CaseState.REPORTED.value)
SUSPECTED = (DrugRole.SUSPECT.value, DrugRole.INTERACTING.value)


@dataclass(frozen=True)
class KeyCount:
    key: str  # "atc:B01AA03", "pt:10017955", "soc:10017947", "mdr:10019211", "txt:rash"
    label: str
    coded: bool
    reports: int  # notes (annotations) or cases with at least one confirmed ADE under this key
    ades: int  # confirmed ADEs under this key: ADE relations, or a case's suspect drug x reaction pairs


@dataclass(frozen=True)
class MonthCount:
    month: date | None  # None: without a time (a note's time; a case's onset)
    reports: int
    ades: int


@dataclass(frozen=True)
class PairRow:
    drug: str
    drug_label: str
    reaction: str
    reaction_label: str
    stats: Disproportionality | None  # None: no comparison group (every counted report names the drug)


@dataclass(frozen=True)
class SafetyTable:
    reports: int  # N: notes with a gold, or confirmed cases
    rows: tuple[PairRow, ...]


# ------------------------------------------------------------------------------------------------- keys


def _current(system: System) -> dict:
    return {"terminology__system": system.value, "terminology__current": True}


def _drug_key(queryset: QuerySet, atc, text, atc_level: int) -> QuerySet:
    """`queryset` with `dkey` from the drug's ATC code (`atc`, an expression or None) and its `text`."""
    length = ATC_LEVELS[atc_level]
    queryset = queryset.annotate(atc=atc, drug_text=text)
    return queryset.annotate(dkey=Case(
        When(atc__isnull=False, then=Concat(Value("atc:"), Upper(Trim(Substr("atc", 1, length))))),
        default=Concat(Value("txt:"), "drug_text"), output_field=CharField()))


def _reaction_key(queryset: QuerySet, meddra, text, level: str, pt=None) -> QuerySet:
    """`queryset` with `rkey` from the reaction's MedDRA code (`meddra`), its PT when known (`pt`, else looked
    up in the current MedDRA) and its `text`."""
    lookup = Subquery(Term.objects.filter(code=OuterRef("meddra"), level__in=[Level.LLT, Level.PT],
                                          **_current(System.MEDDRA)).exclude(pt_code="").values("pt_code")[:1])
    queryset = queryset.annotate(meddra=meddra, reaction_text=text)
    queryset = queryset.annotate(pt=Coalesce(pt, lookup) if pt is not None else lookup)
    whens = []
    if level == "soc":
        soc = Subquery(TermHierarchy.objects.filter(pt_code=OuterRef("pt"), primary=True, **_current(System.MEDDRA))
                       .values("soc_code")[:1])
        queryset = queryset.annotate(soc=soc)
        whens.append(When(soc__isnull=False, then=Concat(Value("soc:"), "soc")))
    whens += [When(pt__isnull=False, then=Concat(Value("pt:"), "pt")),
              When(meddra__isnull=False, then=Concat(Value("mdr:"), Trim("meddra")))]
    return queryset.annotate(rkey=Case(*whens, default=Concat(Value("txt:"), "reaction_text"), output_field=CharField()))


def _entity_text(entity: str):
    return Subquery(Entity.objects.filter(pk=OuterRef(entity)).annotate(t=Lower(Trim("text"))).values("t")[:1])


def _entity_code(entity: str, system: System):
    return Subquery(Normalization.objects.filter(entity_id=OuterRef(entity), resource__iexact=system.resource)
                    .order_by("pk").values("resource_id")[:1])


# ----------------------------------------------------------------------------------- source: annotations


def _gold_sets(project: Project) -> QuerySet[AnnotationSet]:
    """The sets that are their notes' confirmed gold (see the module docstring): one per note at most."""
    holds = OuterRef("pk")
    empty_import = Q(source_kind=AnnotationSetSource.IMPORT) & ~(
        Exists(Entity.objects.filter(annotation_set=holds)) | Exists(Relation.objects.filter(annotation_set=holds))
        | Exists(NoteLabel.objects.filter(annotation_set=holds)))
    candidates = (AnnotationSet.objects.filter(status=AnnotationSetStatus.GOLD)
                  .exclude(source_kind=AnnotationSetSource.MODEL).exclude(empty_import))
    newest = candidates.filter(note=OuterRef("note")).order_by("-updated_at", "-pk").values("pk")[:1]
    return candidates.filter(note__project=project, pk=Subquery(newest))


def _ades(project: Project) -> QuerySet[Relation]:
    """The confirmed ADE relations with `drug_id` and `reaction_id` (their entity arguments) and `unit` (the note)."""
    arg2_is_drug = Q(arg2_entity__type__in=DRUG_TYPES)
    types = list(project.ade_evidence_relation_types or ADE_RELATION_NAMES)
    return (Relation.objects.filter(annotation_set__in=_gold_sets(project), type__in=types,
                                    arg1_entity__isnull=False, arg2_entity__isnull=False)
            .exclude(decision=Decision.REJECTED)
            .exclude(Q(arg1_entity__type__in=DRUG_TYPES) & arg2_is_drug)
            .exclude(~Q(arg1_entity__type__in=DRUG_TYPES) & ~arg2_is_drug)
            .annotate(drug_id=Case(When(arg2_is_drug, then=F("arg2_entity_id")), default=F("arg1_entity_id")),
                      reaction_id=Case(When(arg2_is_drug, then=F("arg1_entity_id")), default=F("arg2_entity_id")),
                      unit=F("annotation_set__note_id")))


class _Annotations:
    """The rows of the "annotations" source (the unit: a note)."""

    def __init__(self, project: Project):
        self.project = project

    def reports(self) -> int:
        return _gold_sets(self.project).count()  # one gold set per note

    def by_drug(self, atc_level: int) -> QuerySet:
        rows = _drug_key(_ades(self.project), _entity_code("drug_id", System.ATC), _entity_text("drug_id"), atc_level)
        return rows.values(group_key=F("dkey")).annotate(reports=Count("unit", distinct=True), ades=Count("pk"))

    def by_reaction(self, level: str) -> QuerySet:
        rows = self.reactions(level)
        return rows.values(group_key=F("rkey")).annotate(reports=Count("unit", distinct=True), ades=Count("pk"))

    def over_time(self) -> QuerySet:
        return (_ades(self.project).annotate(month=TruncMonth("annotation_set__note__timestamp")).values("month")
                .annotate(reports=Count("unit", distinct=True), ades=Count("pk")))

    def exposures(self, atc_level: int) -> QuerySet:
        drugs = (Entity.objects.filter(annotation_set__in=_gold_sets(self.project), type__in=DRUG_TYPES)
                 .exclude(decision=Decision.REJECTED).annotate(unit=F("annotation_set__note_id")))
        return _drug_key(drugs, _entity_code("pk", System.ATC), _entity_text("pk"), atc_level)

    def reactions(self, level: str) -> QuerySet:
        return _reaction_key(_ades(self.project), _entity_code("reaction_id", System.MEDDRA),
                             _entity_text("reaction_id"), level)


# ----------------------------------------------------------------------------------------- source: cases


class _Cases:
    """The rows of the "cases" source (the unit: a confirmed case)."""

    def __init__(self, project: Project):
        self.project = project
        self.confirmed = CaseRow.objects.filter(project=project, state__in=CONFIRMED_STATES)

    def reports(self) -> int:
        return self.confirmed.count()

    def _drugs(self, atc_level: int, *, suspected: bool) -> QuerySet:
        drugs = CaseDrug.objects.filter(case__in=self.confirmed).annotate(unit=F("case_id"))
        if suspected:
            drugs = drugs.filter(role__in=SUSPECTED)
        atc = Case(When(Q(code_system__iexact="atc") & ~Q(code=""), then=F("code")), default=None,
                   output_field=CharField())
        return _drug_key(drugs, atc, Lower(Trim("name")), atc_level)

    def by_drug(self, atc_level: int) -> QuerySet:
        # A case's ADEs: each suspect drug with each reaction of the case.
        return (self._drugs(atc_level, suspected=True).values(group_key=F("dkey"))
                .annotate(reports=Count("unit", distinct=True), ades=Count("case__reactions")))

    def by_reaction(self, level: str) -> QuerySet:
        return (self.reactions(level).values(group_key=F("rkey"))
                .annotate(reports=Count("unit", distinct=True),
                          ades=Count("case__drugs", filter=Q(case__drugs__role__in=SUSPECTED))))

    def over_time(self) -> QuerySet:
        return (self.confirmed.annotate(month=TruncMonth("onset")).values("month")
                .annotate(reports=Count("pk", distinct=True), ades=Count("reactions")))

    def exposures(self, atc_level: int) -> QuerySet:
        return self._drugs(atc_level, suspected=False)

    def reactions(self, level: str) -> QuerySet:
        rows = CaseReaction.objects.filter(case__in=self.confirmed).annotate(unit=F("case_id"))
        meddra = Case(When(~Q(code=""), then=F("code")), default=None, output_field=CharField())
        return _reaction_key(rows, meddra, Lower(Trim("term")), level, pt=NullIf("pt_code", Value("")))


def _source(project: Project, source: str):
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}")
    return _Annotations(project) if source == "annotations" else _Cases(project)


def _check(atc_level: int, reaction_level: str) -> None:
    if atc_level not in ATC_LEVELS:
        raise ValueError(f"atc_level must be one of {sorted(ATC_LEVELS)}")
    if reaction_level not in REACTION_LEVELS:
        raise ValueError(f"reaction_level must be one of {REACTION_LEVELS}")


# ------------------------------------------------------------------------------------------------- labels


def _labels(keys) -> dict[str, tuple[str, bool]]:
    """key -> (what people read, whether it is coded), with one query per terminology."""
    keys = set(keys)
    atc = {k[4:] for k in keys if k.startswith("atc:")}
    pts = {k[3:] for k in keys if k.startswith("pt:")}
    socs = {k[4:] for k in keys if k.startswith("soc:")}
    names: dict[str, str] = {}
    if atc:
        names.update({f"atc:{c}": t for c, t in Term.objects.filter(code__in=atc, **_current(System.ATC))
                      .values_list("code", "text")})
    if pts:
        names.update({f"pt:{c}": t for c, t in Term.objects.filter(code__in=pts, level=Level.PT,
                                                                   **_current(System.MEDDRA)).values_list("code", "text")})
    if socs:
        names.update({f"soc:{c}": t for c, t in Term.objects.filter(code__in=socs, level=Level.SOC,
                                                                    **_current(System.MEDDRA)).values_list("code", "text")})
    out = {}
    for key in keys:
        kind, _, value = key.partition(":")
        if kind == "txt":
            out[key] = (value, False)
        else:
            prefix = {"atc": "ATC", "pt": "PT", "soc": "SOC", "mdr": "MedDRA"}[kind]
            out[key] = (f"{names[key]} ({prefix} {value})" if key in names else f"{prefix} {value}", True)
    return out


def _key_counts(rows) -> list[KeyCount]:
    rows = list(rows)
    labels = _labels(r["group_key"] for r in rows)
    return [KeyCount(key=r["group_key"], label=labels[r["group_key"]][0], coded=labels[r["group_key"]][1],
                     reports=r["reports"], ades=r["ades"]) for r in rows]


# ------------------------------------------------------------------------------------------------ counts


def safety_counts_by_drug(*, project: Project, atc_level: int = 5, source: str = "annotations",
                          limit: int = 50) -> list[KeyCount]:
    """Confirmed ADEs per suspect drug (ATC at `atc_level` when coded, else the text), most reports first.
    Two queries. Errors: ValueError for an unknown level or source."""
    _check(atc_level, "pt")
    rows = _source(project, source).by_drug(atc_level).order_by("-reports", "-ades", "group_key")
    return _key_counts(rows[:limit])


def safety_counts_by_reaction(*, project: Project, level: str = "pt", source: str = "annotations",
                              limit: int = 50) -> list[KeyCount]:
    """Confirmed ADEs per reaction (MedDRA PT or its primary SOC when coded, else the text), most reports first.
    Two queries. Errors: ValueError for an unknown level or source."""
    _check(5, level)
    rows = _source(project, source).by_reaction(level).order_by("-reports", "-ades", "group_key")
    return _key_counts(rows[:limit])


def safety_counts_over_time(*, project: Project, source: str = "annotations") -> list[MonthCount]:
    """Reports with a confirmed ADE, and confirmed ADEs, per month (of the note's time; of the case's onset), oldest
    first, those without a time last. One query. Errors: ValueError for an unknown source."""
    rows = _source(project, source).over_time().order_by(F("month").asc(nulls_last=True))
    return [MonthCount(month=r["month"].date() if hasattr(r["month"], "date") and r["month"] is not None
                       else r["month"], reports=r["reports"], ades=r["ades"]) for r in rows]


def safety_disproportionality(
    *, project: Project, atc_level: int = 5, reaction_level: str = "pt", source: str = "annotations",
    min_reports: int = 1, limit: int = 50,
) -> SafetyTable:
    """The within-hospital disproportionality table: a row per drug-reaction pair co-occurring in at least
    `min_reports` reports (see the module docstring), signals first, then by ROR's lower bound.

    Five queries: the number of reports, reports per drug key, reports per reaction key, reports per pair (the two
    per-report key sets joined in the database) and the labels. Errors: ValueError for an unknown level or source."""
    _check(atc_level, reaction_level)
    rows_of = _source(project, source)
    reports = rows_of.reports()
    drugs = rows_of.exposures(atc_level)
    reactions = rows_of.reactions(reaction_level)
    drug_reports = dict(drugs.values("dkey").annotate(n=Count("unit", distinct=True)).values_list("dkey", "n"))
    reaction_reports = dict(reactions.values("rkey").annotate(n=Count("unit", distinct=True)).values_list("rkey", "n"))
    drug_sql, drug_params = drugs.values("unit", "dkey").distinct().query.sql_with_params()
    reaction_sql, reaction_params = reactions.values("unit", "rkey").distinct().query.sql_with_params()
    pairs_sql = (f'SELECT d."dkey", r."rkey", COUNT(*) FROM ({drug_sql}) d INNER JOIN ({reaction_sql}) r '
                 f'ON d."unit" = r."unit" GROUP BY d."dkey", r."rkey" HAVING COUNT(*) >= %s')
    with connection.cursor() as cursor:
        cursor.execute(pairs_sql, (*drug_params, *reaction_params, max(1, int(min_reports))))
        pairs = cursor.fetchall()
    labels = _labels([d for d, _, _ in pairs] + [r for _, r, _ in pairs])
    rows = []
    for drug, reaction, a in pairs:
        b = drug_reports.get(drug, a) - a
        c = reaction_reports.get(reaction, a) - a
        d = reports - a - b - c
        try:
            stats = disproportionality(a, b, c, max(d, 0))
        except ValueError:  # every counted report names the drug: nothing to compare with
            stats = None
        rows.append(PairRow(drug, labels[drug][0], reaction, labels[reaction][0], stats))
    rows.sort(key=lambda r: (not (r.stats and r.stats.signal), -(r.stats.ror_low if r.stats else 0),
                             -(r.stats.a if r.stats else 0), r.drug_label, r.reaction_label))
    return SafetyTable(reports=reports, rows=tuple(rows[:limit]))
