"""Reads for the active-learning loop: which notes are gold for training, which are held out, what is new
since the last retrain, the annotation queue in active-learning order, and the model history.

Which version of a note is its gold is the one rule of `annotations.gold` (also what
`export_corpus --source gold` exports).
Held-out notes are a fixed share of the project's notes chosen by a hash of the note's external id, so a
note never moves between training and evaluation as gold accumulates, and every version is judged on
gold the models never trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from annotations.formats.document import Document
from annotations.gold import gold_sets
from annotations.models import (
    AnnotationSet,
    Note,
    Project,
)
from annotations.services.document_store import annotation_sets_to_documents
from inference.core.extraction.metric_names import PRIMARY_METRICS, metric_name, metric_rows
from inference.jobs.selectors import notes_unlabelled
from inference.models import Job, JobState, ModelVersion
from inference.models.learning import RetrainPolicy

TRAIN = "train"  # the learning loop's job kind (job_kinds.py)


def is_heldout(*, project_id: int, external_id: str, fraction: float) -> bool:
    """Whether a note belongs to the project's held-out gold (a fixed, reproducible choice per note)."""
    digest = hashlib.blake2b(f"{project_id}\x1f{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


@dataclass(frozen=True)
class Example:
    """One note's gold version: the note, the annotation set that is its gold, and when that last changed."""

    note_id: int
    annotation_set_id: int
    changed_at: datetime


@dataclass
class TrainingSnapshot:
    """A project's gold split for a retrain (ids only; `examples_documents` loads them)."""

    train: list[Example] = field(default_factory=list)
    heldout: list[Example] = field(default_factory=list)
    awaiting_adjudication: list[int] = field(default_factory=list)  # note ids

    def new_since(self, moment: datetime | None) -> int:
        """Training examples whose gold changed after `moment` (all of them when None)."""
        if moment is None:
            return len(self.train)
        return sum(1 for e in self.train if e.changed_at > moment)


def training_examples(*, project: Project, heldout_fraction: float) -> TrainingSnapshot:
    """The project's gold notes (the one gold rule, annotations.gold) split into training and held-out
    examples."""
    selection = gold_sets(project=project)
    snapshot = TrainingSnapshot(awaiting_adjudication=list(selection.awaiting_adjudication))
    for gold in selection.gold:
        example = Example(note_id=gold.note_id, annotation_set_id=gold.annotation_set_id, changed_at=gold.changed_at)
        held = is_heldout(project_id=project.pk, external_id=gold.external_id, fraction=heldout_fraction)
        (snapshot.heldout if held else snapshot.train).append(example)
    return snapshot


def examples_documents(examples: Sequence[Example], *, chunk: int = 500) -> list[Document]:
    """The gold documents of examples, in their order (rejected pre-labels are left out)."""
    out: list[Document] = []
    for start in range(0, len(examples), chunk):
        part = examples[start : start + chunk]
        sets = AnnotationSet.objects.filter(pk__in=[e.annotation_set_id for e in part]).select_related("note")
        docs = annotation_sets_to_documents(list(sets))
        out.extend(docs[e.annotation_set_id] for e in part)
    return out


def retrain_policy_of(*, project: Project) -> RetrainPolicy:
    """The project's policy, or an unsaved one with the defaults."""
    return RetrainPolicy.objects.filter(project=project).first() or RetrainPolicy(project=project)


def last_training_job(*, project: Project) -> Job | None:
    """The newest training job that was not cancelled (its data cutoff is where "new gold" starts)."""
    return (
        Job.objects.filter(project=project, kind=TRAIN)
        .exclude(state=JobState.CANCELLED)
        .order_by("-created_at", "-pk")
        .first()
    )


def training_in_progress(*, project: Project) -> Job | None:
    return Job.objects.filter(
        project=project, kind=TRAIN, state__in=[JobState.QUEUED, JobState.RUNNING]
    ).first()


def data_cutoff(job: Job | None) -> datetime | None:
    if job is None:
        return None
    from django.utils.dateparse import parse_datetime

    value = job.parameters.get("data_cutoff")
    return parse_datetime(value) if value else job.created_at


@dataclass(frozen=True)
class RetrainQueueState:
    """What the model page shows about the retrain queue."""

    policy: RetrainPolicy
    train_notes: int
    heldout_notes: int
    awaiting_adjudication: int
    new_gold: int
    running: Job | None
    last: Job | None


def retrain_queue_state(*, project: Project) -> RetrainQueueState:
    policy = retrain_policy_of(project=project)
    snapshot = training_examples(project=project, heldout_fraction=policy.heldout_fraction)
    last = last_training_job(project=project)
    return RetrainQueueState(
        policy=policy,
        train_notes=len(snapshot.train),
        heldout_notes=len(snapshot.heldout),
        awaiting_adjudication=len(snapshot.awaiting_adjudication),
        new_gold=snapshot.new_since(data_cutoff(last)),
        running=training_in_progress(project=project),
        last=last,
    )


def model_version_history(*, project: Project) -> QuerySet[ModelVersion]:
    """The project's model versions, oldest first, with their parent and counts of training notes."""

    def links(field: str):
        # A count per link table; two Count()s over both M2M joins would multiply their rows per version.
        through = getattr(ModelVersion, field).through
        rows = through.objects.filter(modelversion=OuterRef("pk")).order_by().values("modelversion")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    return (
        ModelVersion.objects.filter(project=project)
        .select_related("parent", "training_job")
        .annotate(n_training=links("training_notes"), n_heldout=links("heldout_notes"))
        .order_by("created_at", "pk")
    )


def model_version_metric_cells(versions: Sequence[ModelVersion], keys: Sequence[str] | None = None) -> None:
    """Set `metric_cells` on each version: its `keys` metrics (default: the versions table's) as
    `metric_rows`, value None when absent."""
    for version in versions:
        version.metric_cells = metric_rows(version.metrics, keys=keys or VERSION_TABLE_METRICS)


def model_version_get(*, project: Project, version_id: int) -> ModelVersion:
    """One version of the project (ModelVersion.DoesNotExist otherwise)."""
    return ModelVersion.objects.select_related("parent", "training_job").get(project=project, pk=version_id)


def model_version_notes(*, version: ModelVersion, which: str, limit: int = 1000) -> QuerySet[Note]:
    """The notes a version was trained ("training") or evaluated ("heldout") on, without their text."""
    notes = version.training_notes if which == "training" else version.heldout_notes
    return notes.order_by("external_id").only("pk", "external_id", "review_status")[:limit]


def annotation_queue_order(notes: QuerySet[Note]) -> QuerySet[Note]:
    """Notes in the active-learning order: ranked ones by rank (1 = the most informative), then unranked
    ones (no model has scored them) by id. The annotation queue's order, and the order in which
    annotations.services.assignment hands notes out in a project ordered by active learning (registered in
    inference.apps)."""
    return notes.order_by(F("al_score__rank").asc(nulls_last=True), "pk")


def annotation_queue_queryset(*, project: Project, after_rank: int = 0) -> QuerySet[Note]:
    """Unlabelled ranked notes in active-learning order (rank 1 = the note to annotate next), without text."""
    return annotation_queue_order(
        notes_unlabelled(Note.objects.filter(project=project, al_score__rank__gt=after_rank))
        .select_related("al_score", "patient")
        .defer("text", "metadata", "text_hash")
    )


def annotation_queue(*, project: Project, after_rank: int = 0, limit: int = 50) -> list[Note]:
    """One page of `annotation_queue_queryset` after a rank."""
    return list(annotation_queue_queryset(project=project, after_rank=after_rank)[:limit])


# --- the model page's chart ------------------------------------------------------------------------------

# Labels come from the one mapping of metric keys to readable names (inference.core.extraction.metric_names).
CHART_SERIES = (
    ("ner_macro_f1_strict", "#1f77b4"),
    ("re_f1_strict", "#d62728"),
    ("note_f1", "#2ca02c"),
)
#: The versions table's metric columns.
VERSION_TABLE_METRICS = ("ner_macro_f1_strict", "re_f1_strict", "note_f1")


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    value: float
    version: str
    outcome: str  # promoted | refused | "" (registered by hand)
    created: datetime


@dataclass(frozen=True)
class ChartSeries:
    key: str
    label: str
    definition: str
    colour: str
    points: list[ChartPoint]
    polyline: str  # through the promoted (and hand-registered) versions: the model people actually used


@dataclass(frozen=True)
class HistoryChart:
    width: int
    height: int
    pad: int
    series: list[ChartSeries]
    labels: list[tuple[float, str]]  # x, version name


def model_history_chart(
    versions: Sequence[ModelVersion], *, width: int = 860, height: int = 260, pad: int = 36
) -> HistoryChart:
    """Held-out metrics of the versions (oldest first) laid out for an SVG chart, x by version order.

    Versions without held-out metrics (registered by hand without them) have no point.
    """
    versions = list(versions)
    n = max(len(versions) - 1, 1)

    def x_of(i: int) -> float:
        return pad + (width - 2 * pad) * (i / n if len(versions) > 1 else 0.5)

    series = []
    for key, colour in CHART_SERIES:
        name = metric_name(key)
        points = [
            ChartPoint(
                x=x_of(i),
                y=pad + (height - 2 * pad) * (1.0 - float(v.metrics[key])),
                value=float(v.metrics[key]),
                version=v.name,
                outcome=v.gate_outcome,
                created=v.created_at,
            )
            for i, v in enumerate(versions)
            if isinstance((v.metrics or {}).get(key), int | float)
        ]
        used = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points if p.outcome != "refused")
        if points:
            series.append(ChartSeries(key, name.label, name.definition, colour, points, used))
    return HistoryChart(width, height, pad, series, [(x_of(i), v.name) for i, v in enumerate(versions)])


def model_version_headline(*, project: Project) -> tuple[ModelVersion | None, list]:
    """The active model version and its headline metrics in names people read (all of them when it has none
    of the headline ones): what the dashboard shows."""
    model = ModelVersion.objects.filter(project=project, is_active=True).first()
    rows = metric_rows(model.metrics) if model is not None else []
    return model, [r for r in rows if r.key in PRIMARY_METRICS] or rows
