"""Train a project's ADR risk model from its annotations: phrase states labelled in the editor.

A phrase label is an entity whose type is one of the project's state types (the children of
`Phrase_state` in its schema, see `inference.core.risk.phrase_labels`; the nursing-notes study's 7 states when the schema has none),
in a gold or submitted annotation set. No table of its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotations.errors import ApplicationError
from annotations.formats.brat_conf import write_annotation_conf, write_visual_conf
from annotations.gold import gold_sets
from annotations.models import (
    AnnotationSchema,
    Decision,
    Entity,
    Note,
    NoteLabel,
    NoteLabelValue,
    Origin,
    Patient,
    Project,
)
from annotations.services.schemas import project_schema_get, project_schema_set, schema_merge
from inference.core.risk.phrase_classifier import PHRASE_MODELS, STUDY_STATES
from inference.core.risk.phrase_labels import (
    LabelledNote,
    LabelledPatient,
    StateTypes,
    labelled_patient,
    state_schema,
    state_types,
    state_types_from_schema,
)
from inference.core.risk.phrases import NursingNote
from inference.core.risk.risk_bundle import InsufficientData
from inference.models.risk import RiskModel
from inference.risk.monitor import risk_model_train

logger = logging.getLogger(__name__)

#: Fewer labelled phrases than this cannot teach a phrase classifier anything worth deploying.
MIN_LABELLED_PHRASES = 20


@dataclass(frozen=True)
class RiskTrainingData:
    """What a project's annotations give: the training patients and what was left out."""

    states: StateTypes
    patients: list[LabelledPatient]
    labelled_phrases: int
    patients_without_outcome: int

    def summary(self) -> str:
        adr = sum(p.adr for p in self.patients)
        return (
            f"{len(self.patients)} patients with an outcome ({adr} ADR, {len(self.patients) - adr} non-ADR), "
            f"{self.labelled_phrases} labelled phrases; {self.patients_without_outcome} patients without an "
            "outcome left out"
        )


def project_state_types(*, project: Project) -> StateTypes:
    """The project's phrase states: those of its schema, else the nursing-notes study's 7 states (module docstring)."""
    return state_types_from_schema(project_schema_get(project=project)) or state_types(STUDY_STATES)


def project_state_types_add(*, project: Project, states=STUDY_STATES) -> AnnotationSchema:
    """Make the state types part of the project's schema (merged; types it already has are kept), so that
    the editor offers them. Idempotent."""
    current = project_schema_get(project=project)
    schema = schema_merge(current, state_schema(states)) if current is not None else state_schema(states)
    stored = AnnotationSchema.objects.filter(project=project).first()
    return project_schema_set(
        project=project,
        schema=schema,
        inferred=bool(stored and stored.inferred),
        annotation_conf=write_annotation_conf(schema),
        visual_conf=write_visual_conf(schema),
    )


def risk_training_patients(*, project: Project) -> RiskTrainingData:
    """The project's patients as risk-model training records, from their notes and phrase annotations.

    Phrases are the notes' phrases (the monitor's rules). Per note, the phrase labels are the state
    entities of its gold set (the one gold rule, `annotations.gold`: the same set training and
    `export_corpus --source gold` read); rejected and undecided model pre-labels do not count. They label the phrases they cover (`inference.core.risk.phrase_labels.
    phrase_states`). A phrase nobody labelled is walked by TD(lambda) but is no example for the phrase
    classifier.

    A patient's ADR outcome, in this order:
    1. `Patient.metadata["adr"]` (true/false) when present: the hospital's own record (e.g. its ADR report
       register), with `metadata["adr_reported_at"]` (ISO time) as the report time when given;
    2. else the note verdicts of the notes' gold sets: ADR
       when any note is labelled "ade" (reported at the earliest such note's time), non-ADR when some note
       is labelled "no_ade" and none "ade" ("uncertain" says nothing);
    3. else none: the patient is left out (counted in `patients_without_outcome`).
    A patient is synthetic when all its notes say so in their metadata (the demo's).

    Reads every note text of the project's patients into memory once; a fixed number of queries.
    """
    types = project_state_types(project=project)
    index = types.index()
    notes = list(
        Note.objects.filter(project=project, patient__isnull=False).only(
            "id", "patient_id", "text", "timestamp", "metadata"
        )
    )
    # The one gold rule (annotations.gold): per note one set, the same that training and export read.
    with_patient = {n.pk for n in notes}
    set_note = {
        g.annotation_set_id: g.note_id for g in gold_sets(project=project).gold if g.note_id in with_patient
    }
    entities: dict[int, list[tuple[str, list]]] = defaultdict(list)
    for set_id, type_, fragments in (
        Entity.objects.filter(annotation_set__note__project=project, type__in=list(index))
        .exclude(decision=Decision.REJECTED)
        .exclude(Q(origin=Origin.MODEL) & Q(decision=""))
        .order_by("pk")
        .values_list("annotation_set_id", "type", "fragments")
    ):
        if set_id in set_note:
            entities[set_note[set_id]].append((type_, fragments))
    verdicts: dict[int, set[str]] = defaultdict(set)
    for set_id, value in NoteLabel.objects.filter(annotation_set__note__project=project).values_list(
        "annotation_set_id", "value"
    ):
        if set_id in set_note:
            verdicts[set_note[set_id]].add(value)

    by_patient: dict[int, list[Note]] = defaultdict(list)
    for note in notes:
        by_patient[note.patient_id].append(note)
    patients, without_outcome = [], 0
    for patient in Patient.objects.filter(project=project, pk__in=list(by_patient)).order_by("pk"):
        own = by_patient[patient.pk]
        outcome = _outcome(patient, own, verdicts)
        if outcome is None:
            without_outcome += 1
            continue
        adr, reported_at = outcome
        labelled_notes = [
            LabelledNote(NursingNote(str(n.pk), n.timestamp, n.text), tuple(entities.get(n.pk, ())))
            for n in own
        ]
        record = labelled_patient(
            patient.external_id,
            labelled_notes,
            index=index,
            adr=adr,
            reported_at=reported_at,
            synthetic=all(n.metadata.get("synthetic") is True for n in own),
        )
        if record.texts:
            patients.append(record)
    return RiskTrainingData(types, patients, sum(p.labelled for p in patients), without_outcome)


def risk_model_train_from_annotations(
    *,
    project: Project,
    name: str | None = None,
    phrase_model: str = "tfidf",
    phrase_options: dict | None = None,
    trace: str = "dutch",
    seed: int = 0,
) -> tuple[RiskModel, RiskTrainingData]:
    """Train a risk model on the project's phrase annotations, store it and make it the active one.

    Args: the project, the model's name (default `annotations-<phrase model>-<trace>-<time>`), the phrase
    classifier kind and its options (e.g. `{"encoder": DIR, "epochs": 2}` for the transformer), the TD
    trace and the seed.
    Result: the new active RiskModel and the training data it was made from.
    Errors: ApplicationError `too_few_phrase_labels` (fewer than MIN_LABELLED_PHRASES labelled phrases, or
    fewer than two states among them), `too_few_patients` (fewer ADR or non-ADR patients than the 8:1:1
    split needs), `name_taken`, `bad_phrase_model`.
    """
    if phrase_model not in PHRASE_MODELS:
        raise ApplicationError(
            "bad_phrase_model",
            f"Unknown phrase model {phrase_model!r}; use one of {', '.join(PHRASE_MODELS)}.",
        )
    name = name or f"annotations-{phrase_model}-{trace}-{timezone.now():%Y%m%d-%H%M%S}"
    if RiskModel.objects.filter(project=project, name=name).exists():
        raise ApplicationError("name_taken", f"This project already has a risk model named {name!r}.")
    data = risk_training_patients(project=project)
    if data.labelled_phrases < MIN_LABELLED_PHRASES:
        raise ApplicationError(
            "too_few_phrase_labels",
            f"Only {data.labelled_phrases} phrases of patients with a known outcome carry a state label; at "
            f"least {MIN_LABELLED_PHRASES} are needed. Label phrases in the editor with the state types "
            f"({', '.join(data.states.types)}) in gold or submitted annotations.",
        )
    try:
        model = risk_model_train(
            project=project,
            patients=data.patients,
            name=name,
            trace=trace,
            seed=seed,
            states=data.states.states,
            phrase_model=phrase_model,
            phrase_options=phrase_options,
        )
    except InsufficientData as exc:
        raise ApplicationError(exc.code, f"{exc} ({data.summary()}).") from None
    logger.info("risk model %s trained from annotations of project %s", name, project.slug)
    return model, data


def _outcome(
    patient: Patient, notes: list[Note], verdicts: dict[int, set[str]]
) -> tuple[bool, datetime | None] | None:
    """(ADR, reported at) of a patient, or None when unknown (see risk_training_patients)."""
    meta = patient.metadata or {}
    if isinstance(meta.get("adr"), bool):
        reported = meta.get("adr_reported_at")
        reported_at = parse_datetime(reported) if isinstance(reported, str) else None
        if reported_at is not None and timezone.is_naive(reported_at):
            reported_at = timezone.make_aware(reported_at)
        return meta["adr"], reported_at if meta["adr"] else None
    ade_notes = [n for n in notes if NoteLabelValue.ADE in verdicts.get(n.pk, ())]
    if ade_notes:
        times = [n.timestamp for n in ade_notes if n.timestamp is not None]
        return True, min(times) if times else None
    if any(NoteLabelValue.NO_ADE in verdicts.get(n.pk, ()) for n in notes):
        return False, None
    return None
