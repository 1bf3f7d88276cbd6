"""Cases: an individual case safety report opened from a confirmed note, with its drugs, reactions, the evidence
spans they come from, and a causality assessment per suspect drug and reaction.

The vocabularies are pharmacovigilance.core.report's (ICH E2B(R3), WHO-UMC), so `selectors.case_report` maps
rows to the CaseReport dataclass the writers read without translating codes. Coded terms are stored as text,
code, system and version, never as a key into the terminology tables: a case keeps what it was coded with
when a newer MedDRA version is loaded. Written only through pharmacovigilance.services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from pharmacovigilance.core.causality import NaranjoCategory
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


def _choices(enum, labels: dict | None = None) -> list[tuple[str, str]]:
    labels = labels or {}
    return [(m.value, labels.get(m, m.value.replace("_", " ").capitalize())) for m in enum]


STATE_CHOICES = _choices(CaseState)
OUTCOME_CHOICES = _choices(Outcome, {
    Outcome.RECOVERED: "Recovered / resolved", Outcome.RECOVERING: "Recovering / resolving",
    Outcome.NOT_RECOVERED: "Not recovered / not resolved / ongoing",
    Outcome.RECOVERED_WITH_SEQUELAE: "Recovered / resolved with sequelae", Outcome.FATAL: "Fatal",
    Outcome.UNKNOWN: "Unknown",
})
ROLE_CHOICES = _choices(DrugRole)
ACTION_CHOICES = _choices(ActionTaken, {ActionTaken.WITHDRAWN: "Drug withdrawn"})
CHALLENGE_CHOICES = _choices(ChallengeResult, {
    ChallengeResult.POSITIVE: "Positive (abated / recurred)", ChallengeResult.NEGATIVE: "Negative",
})
WHO_UMC_CHOICES = _choices(WhoUmcCategory)
NARANJO_CHOICES = _choices(NaranjoCategory)
QUALIFICATION_CHOICES = _choices(ReporterQualification, {
    ReporterQualification.OTHER_HCP: "Other health professional",
    ReporterQualification.CONSUMER: "Consumer or other non health professional",
})
SEX_CHOICES = [("", "Unknown"), ("male", "Male"), ("female", "Female")]
# One boolean per ICH criterion (E2B(R3) E.i.3.2a-f): filters and counts stay plain SQL on every database.
SERIOUSNESS_FIELDS = {s: f"serious_{s.value}" for s in Seriousness}


class Case(models.Model):
    """One case: a patient, the notes it was built from, its drugs and reactions, seriousness, narrative and
    state. `version` is bumped by every change (optimistic concurrency: a stale write is refused, 409)."""

    project = models.ForeignKey("annotations.Project", on_delete=models.CASCADE, related_name="cases")
    reference = models.CharField(max_length=100, help_text="The case's identifier (the safety report id).")
    state = models.CharField(max_length=10, choices=STATE_CHOICES, default=CaseState.DRAFT.value)
    patient = models.ForeignKey("annotations.Patient", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="cases")
    # Pseudonymous: the patient's external id, or the note's when the note has no patient. Never a name.
    patient_identifier = models.CharField(max_length=200)
    patient_sex = models.CharField(max_length=10, choices=SEX_CHOICES, blank=True, default="")
    patient_age_years = models.PositiveSmallIntegerField(null=True, blank=True)
    notes = models.ManyToManyField("annotations.Note", related_name="cases")
    onset = models.DateField(null=True, blank=True)
    serious_death = models.BooleanField(default=False)
    serious_life_threatening = models.BooleanField(default=False)
    serious_hospitalisation = models.BooleanField(default=False)
    serious_disability = models.BooleanField(default=False)
    serious_congenital_anomaly = models.BooleanField(default=False)
    serious_other_medically_important = models.BooleanField(default=False)
    reporter = models.CharField(max_length=200, blank=True)
    reporter_qualification = models.CharField(max_length=20, choices=QUALIFICATION_CHOICES,
                                              default=ReporterQualification.PHYSICIAN.value)
    narrative = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    assessed_at = models.DateTimeField(null=True, blank=True)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "reference"], name="case_unique_reference"),
            models.CheckConstraint(condition=Q(state__in=[s.value for s in CaseState]), name="case_state_valid"),
        ]
        indexes = [models.Index(fields=["project", "state", "-created_at"], name="case_project_state_idx")]

    def __str__(self) -> str:
        return self.reference

    @property
    def seriousness(self) -> frozenset[Seriousness]:
        return frozenset(s for s, name in SERIOUSNESS_FIELDS.items() if getattr(self, name))


class CaseDrug(models.Model):
    """A drug of the case: suspect, concomitant or interacting; its name as written and, once coded, its
    code (ATC, or another system) with the terminology version."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="drugs")
    key = models.CharField(max_length=10, help_text='Stable within the case ("D1"); causality points at it.')
    role = models.CharField(max_length=15, choices=ROLE_CHOICES, default=DrugRole.SUSPECT.value)
    name = models.CharField(max_length=300)
    code = models.CharField(max_length=50, blank=True)
    code_system = models.CharField(max_length=20, blank=True)
    code_version = models.CharField(max_length=50, blank=True)
    code_text = models.CharField(max_length=300, blank=True, help_text="The coded term's own text.")
    dose = models.CharField(max_length=300, blank=True)
    route = models.CharField(max_length=100, blank=True)
    frequency = models.CharField(max_length=200, blank=True)
    duration = models.CharField(max_length=200, blank=True)
    start = models.DateField(null=True, blank=True)
    end = models.DateField(null=True, blank=True)
    action_taken = models.CharField(max_length=20, choices=ACTION_CHOICES, default=ActionTaken.UNKNOWN.value)
    dechallenge = models.CharField(max_length=10, choices=CHALLENGE_CHOICES, default=ChallengeResult.UNKNOWN.value)
    rechallenge = models.CharField(max_length=10, choices=CHALLENGE_CHOICES, default=ChallengeResult.UNKNOWN.value)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "key"], name="case_drug_unique_key"),
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(start__isnull=True) | Q(start__lte=models.F("end")),
                                   name="case_drug_start_before_end"),
        ]


class CaseReaction(models.Model):
    """A reaction of the case: its term as written and, once coded, the MedDRA LLT with its PT."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reactions")
    key = models.CharField(max_length=10, help_text='Stable within the case ("R1").')
    term = models.CharField(max_length=300)
    code = models.CharField(max_length=50, blank=True, help_text="MedDRA LLT code (or another system's code).")
    code_system = models.CharField(max_length=20, blank=True)
    code_version = models.CharField(max_length=50, blank=True)
    code_text = models.CharField(max_length=300, blank=True, help_text="The coded term's own text (the LLT).")
    pt_code = models.CharField(max_length=50, blank=True)
    pt_text = models.CharField(max_length=300, blank=True)
    onset = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=25, choices=OUTCOME_CHOICES, default=Outcome.UNKNOWN.value)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="case_reaction_unique_key")]


class CaseEvidence(models.Model):
    """Where in a note a drug, a reaction, a dose field or a drug-reaction relation of the case comes from: the
    note, offsets into its (immutable) text, and the annotation it was read from (its local id in the set, the
    set and the set's version then), with that annotation's attributes as they were. No copy of the text."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    note = models.ForeignKey("annotations.Note", on_delete=models.CASCADE, related_name="+")
    drug = models.ForeignKey(CaseDrug, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence")
    reaction = models.ForeignKey(CaseReaction, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="evidence")
    kind = models.CharField(max_length=20, help_text="drug, reaction, dose, route, frequency, duration, relation")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    annotation_set = models.ForeignKey("annotations.AnnotationSet", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    annotation_set_version = models.PositiveIntegerField(null=True, blank=True)
    annotation_local_id = models.CharField(max_length=32, blank=True)
    attributes = models.JSONField(default=list, blank=True, help_text='[[name, value], ...] of the annotation.')

    class Meta:
        ordering = ["note_id", "start", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="case_evidence_start_before_end"),
            models.CheckConstraint(condition=Q(drug__isnull=False) | Q(reaction__isnull=False),
                                   name="case_evidence_has_subject"),
        ]


class Causality(models.Model):
    """The assessment of one suspect drug and one reaction: the WHO-UMC category and the Naranjo answers with
    their score and category, by whom and when. A pair without a row has not been assessed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="causality")
    drug = models.ForeignKey(CaseDrug, on_delete=models.CASCADE, related_name="causality")
    reaction = models.ForeignKey(CaseReaction, on_delete=models.CASCADE, related_name="causality")
    who_umc = models.CharField(max_length=15, choices=WHO_UMC_CHOICES, blank=True)
    naranjo_answers = models.JSONField(default=dict, blank=True, help_text='{"1": "yes", ..., "10": "dont_know"}')
    naranjo_score = models.SmallIntegerField(null=True, blank=True)
    naranjo_category = models.CharField(max_length=10, choices=NARANJO_CHOICES, blank=True)
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["drug", "reaction"], name="causality_unique_pair"),
            models.CheckConstraint(condition=Q(naranjo_score__isnull=True) | Q(naranjo_score__gte=-4,
                                                                               naranjo_score__lte=13),
                                   name="causality_naranjo_range"),
        ]
