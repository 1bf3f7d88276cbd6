"""An individual case safety report as plain data: what the case form edits, what the FHIR and ICH E2B(R3)
writers read, what the line listing lists. The vocabularies are the ICH E2B(R3) ones (outcome, seriousness
criteria, action taken, drug role) and WHO-UMC's causality categories, so that the writers only map codes.

Nothing here touches the database: pharmacovigilance.services builds a CaseReport from the case's rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Outcome(StrEnum):
    """E2B(R3) E.i.7 outcome of the reaction at the time of the last observation (codes 1-6)."""

    RECOVERED = "recovered"  # 1 recovered/resolved
    RECOVERING = "recovering"  # 2 recovering/resolving
    NOT_RECOVERED = "not_recovered"  # 3 not recovered/not resolved/ongoing
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"  # 4 recovered/resolved with sequelae
    FATAL = "fatal"  # 5 fatal
    UNKNOWN = "unknown"  # 0 unknown

    @property
    def e2b_code(self) -> str:
        return {"recovered": "1", "recovering": "2", "not_recovered": "3", "recovered_with_sequelae": "4",
                "fatal": "5", "unknown": "0"}[self.value]


class Seriousness(StrEnum):
    """The ICH seriousness criteria (E2B(R3) E.i.3.2a-f). Hospitalisation covers initial or prolonged."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    CONGENITAL_ANOMALY = "congenital_anomaly"
    OTHER_MEDICALLY_IMPORTANT = "other_medically_important"


class DrugRole(StrEnum):
    """E2B(R3) G.k.1 characterisation of the drug's role: 1 suspect, 2 concomitant, 3 interacting."""

    SUSPECT = "suspect"
    CONCOMITANT = "concomitant"
    INTERACTING = "interacting"

    @property
    def e2b_code(self) -> str:
        return {"suspect": "1", "concomitant": "2", "interacting": "3"}[self.value]


class ActionTaken(StrEnum):
    """E2B(R3) G.k.8 action taken with the drug (codes 1-4, 0 unknown, 9 not applicable)."""

    WITHDRAWN = "withdrawn"  # 1
    DOSE_REDUCED = "dose_reduced"  # 2
    DOSE_INCREASED = "dose_increased"  # 3
    DOSE_NOT_CHANGED = "dose_not_changed"  # 4
    UNKNOWN = "unknown"  # 0
    NOT_APPLICABLE = "not_applicable"  # 9

    @property
    def e2b_code(self) -> str:
        return {"withdrawn": "1", "dose_reduced": "2", "dose_increased": "3", "dose_not_changed": "4",
                "unknown": "0", "not_applicable": "9"}[self.value]


class ChallengeResult(StrEnum):
    """Dechallenge / rechallenge: did the reaction abate when the drug stopped, recur when it restarted."""

    POSITIVE = "positive"  # reaction abated (dechallenge) / recurred (rechallenge)
    NEGATIVE = "negative"
    NOT_DONE = "not_done"
    UNKNOWN = "unknown"


class WhoUmcCategory(StrEnum):
    """WHO-UMC causality categories, strongest first."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    UNLIKELY = "unlikely"
    CONDITIONAL = "conditional"  # conditional/unclassified
    UNASSESSABLE = "unassessable"  # unassessable/unclassifiable


class CaseState(StrEnum):
    DRAFT = "draft"
    ASSESSED = "assessed"
    REPORTED = "reported"


class ReporterQualification(StrEnum):
    """E2B(R3) C.2.r.4 the primary source's qualification (codes 1-5)."""

    PHYSICIAN = "physician"  # 1
    PHARMACIST = "pharmacist"  # 2
    OTHER_HCP = "other_hcp"  # 3 other health professional
    LAWYER = "lawyer"  # 4
    CONSUMER = "consumer"  # 5 consumer or other non health professional


@dataclass(frozen=True)
class Coded:
    """A term as written and, when coded, its code in a terminology (MedDRA LLT/PT, ATC, SNOMED CT)."""

    text: str
    code: str = ""
    system: str = ""  # "meddra", "atc", "snomed", ""
    preferred_term_code: str = ""  # MedDRA: the LLT's PT
    preferred_term: str = ""
    version: str = ""  # the terminology version the code comes from (MedDRA 27.0 ...)


@dataclass(frozen=True)
class Evidence:
    """Where in a note the case's statement comes from: character offsets into the note's text."""

    note_external_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class CaseDrug:
    key: str  # stable within the case ("D1"): causality rows point at it
    name: Coded
    role: DrugRole = DrugRole.SUSPECT
    dose: str = ""
    route: str = ""
    frequency: str = ""  # as written ("twice daily"); E2B carries it in the dosage text
    duration: str = ""  # as written ("for 5 days")
    start: date | None = None
    end: date | None = None
    action_taken: ActionTaken = ActionTaken.UNKNOWN
    dechallenge: ChallengeResult = ChallengeResult.UNKNOWN
    rechallenge: ChallengeResult = ChallengeResult.UNKNOWN
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class CaseReaction:
    key: str  # "R1"
    term: Coded
    onset: date | None = None
    outcome: Outcome = Outcome.UNKNOWN
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class CausalityAssessment:
    """One suspect drug and one reaction: the WHO-UMC category and, when answered, the Naranjo score."""

    drug_key: str
    reaction_key: str
    who_umc: WhoUmcCategory | None = None
    naranjo_score: int | None = None
    naranjo_category: str = ""  # definite / probable / possible / doubtful
    assessor: str = ""
    assessed_at: datetime | None = None


@dataclass(frozen=True)
class SourceDocument:
    """A note the case was built from (FHIR DocumentReference; E2B C.4 literature/document reference)."""

    note_external_id: str
    written_at: datetime | None = None
    note_type: str = ""


@dataclass(frozen=True)
class CaseReport:
    case_id: str  # the case's stable identifier inside the hospital (safety report id)
    patient_id: str  # pseudonymous: the note's patient identifier, never a name
    patient_sex: str = ""  # "male", "female", "" unknown
    patient_age_years: int | None = None
    patient_birth_date: date | None = None
    drugs: tuple[CaseDrug, ...] = ()
    reactions: tuple[CaseReaction, ...] = ()
    causality: tuple[CausalityAssessment, ...] = ()
    seriousness: frozenset[Seriousness] = field(default_factory=frozenset)
    narrative: str = ""
    reporter: str = ""  # qualification or name of the primary source (hospital-side)
    reporter_qualification: str = "physician"  # E2B C.2.r.4: physician, pharmacist, other_hcp, ...
    sender_organisation: str = ""
    state: CaseState = CaseState.DRAFT
    created_at: datetime | None = None
    updated_at: datetime | None = None
    sources: tuple[SourceDocument, ...] = ()

    @property
    def serious(self) -> bool:
        return bool(self.seriousness)
