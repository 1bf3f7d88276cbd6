"""The active-learning loop's state: each project's retrain policy and each note's query scores."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from inference.core.extraction.active_learning import STRATEGIES
from inference.core.extraction.pipeline_training import GATE_METRICS


class StartFrom(models.TextChoices):
    CURRENT = "current", "Fine-tune the current model"
    BASE = "base", "Start again from the base encoder"


class RetrainPolicy(models.Model):
    """When a project retrains, how a new version is judged, and how the annotation queue is ordered.

    One row per project, created with the defaults on first use (`retrain_policy_get`).
    """

    project = models.OneToOneField("annotations.Project", on_delete=models.CASCADE, related_name="retrain_policy")
    retrain_every = models.PositiveIntegerField(
        default=20, help_text="Queue a retrain when this many new gold notes have arrived (0: only by hand)."
    )
    gate_metric = models.CharField(max_length=40, choices=list(GATE_METRICS.items()), default="ner_macro_f1_strict")
    gate_tolerance = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Promote when the new version scores at least the current one minus this.",
    )
    heldout_fraction = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.01), MaxValueValidator(0.9)],
        help_text="Share of gold notes kept out of training to judge versions on (fixed per note).",
    )
    epochs = models.PositiveIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(100)])
    start_from = models.CharField(max_length=10, choices=StartFrom.choices, default=StartFrom.CURRENT)
    query_strategy = models.CharField(
        max_length=20, choices=[(s, s.replace("_", " ")) for s in STRATEGIES], default="mnlp"
    )
    diversity = models.BooleanField(default=True, help_text="Spread the top of the queue over different notes.")
    batch_size = models.PositiveIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text="Notes at the top of the queue chosen together (diversity works within it).",
    )
    cold_start = models.PositiveIntegerField(
        default=20, help_text="Below this many gold notes the queue is random (the model knows too little)."
    )
    updated_at = models.DateTimeField(auto_now=True)


class NoteScore(models.Model):
    """What the latest model run said about a note for active learning, and its place in the queue.

    `scores` holds every strategy's score (higher = less sure), so a project can change strategy
    without running the model again; `embedding` is the note's mean encoder state as float16 bytes
    (diversity); `rank` is the note's place in the annotation queue (1 = next; null = not queued).
    """

    note = models.OneToOneField("annotations.Note", on_delete=models.CASCADE, primary_key=True, related_name="al_score")
    project = models.ForeignKey("annotations.Project", on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(
        "inference.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scores = models.JSONField(default=dict, blank=True)
    embedding = models.BinaryField(null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["project", "rank"], name="note_score_rank_idx")]
